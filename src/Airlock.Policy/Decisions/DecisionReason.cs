namespace Airlock.Policy.Decisions;

/// <summary>
/// Why a decision was made. Every verdict has one; the snake_case name (<see cref="DecisionReasons.Name"/>)
/// appears in events, denial bodies and metrics.
/// </summary>
public enum DecisionReason
{
    /// <summary><c>allowed_by_rule</c>: an allow rule matched.</summary>
    AllowedByRule,

    /// <summary><c>default_allow</c>: no rule matched and the policy's default is allow.</summary>
    DefaultAllow,

    /// <summary><c>default_deny</c>: no rule matched and the policy's default is deny.</summary>
    DefaultDeny,

    /// <summary><c>malformed_host</c>: the host could not be canonicalised.</summary>
    MalformedHost,

    /// <summary><c>denied_by_rule</c>: a deny rule matched.</summary>
    DeniedByRule,

    /// <summary><c>no_matching_http_rule</c>: the allow rule has HTTP rules and none matched the request.</summary>
    NoMatchingHttpRule,

    /// <summary><c>ask_pending</c>: an ask rule matched; the control plane decides.</summary>
    AskPending,

    /// <summary><c>ask_approved</c>: the control plane approved an ask.</summary>
    AskApproved,

    /// <summary><c>ask_denied</c>: the control plane refused an ask.</summary>
    AskDenied,

    /// <summary><c>ask_timeout</c>: nobody answered an ask in time.</summary>
    AskTimeout,

    /// <summary><c>blocked_address</c>: a resolved address is in the built-in block list.</summary>
    BlockedAddress,

    /// <summary><c>denied_address</c>: a resolved address is in the policy's <c>addresses.deny</c>.</summary>
    DeniedAddress,

    /// <summary><c>sni_mismatch</c>: the TLS SNI differs from the name that was decided.</summary>
    SniMismatch,

    /// <summary><c>host_mismatch</c>: an HTTP Host or absolute-form target differs from the tunnel's name.</summary>
    HostMismatch,

    /// <summary><c>protocol_not_allowed</c>: non-TLS bytes on a connection whose rule is not <c>protocol: tcp</c>.</summary>
    ProtocolNotAllowed,

    /// <summary><c>malformed_request</c>: the request could not be parsed or is a smuggling shape.</summary>
    MalformedRequest,
}

/// <summary>Names of <see cref="DecisionReason"/> values as they appear on the wire.</summary>
public static class DecisionReasons
{
    /// <summary>The snake_case name of a reason.</summary>
    /// <param name="reason">The reason.</param>
    public static string Name(DecisionReason reason) => reason switch
    {
        DecisionReason.AllowedByRule => "allowed_by_rule",
        DecisionReason.DefaultAllow => "default_allow",
        DecisionReason.DefaultDeny => "default_deny",
        DecisionReason.MalformedHost => "malformed_host",
        DecisionReason.DeniedByRule => "denied_by_rule",
        DecisionReason.NoMatchingHttpRule => "no_matching_http_rule",
        DecisionReason.AskPending => "ask_pending",
        DecisionReason.AskApproved => "ask_approved",
        DecisionReason.AskDenied => "ask_denied",
        DecisionReason.AskTimeout => "ask_timeout",
        DecisionReason.BlockedAddress => "blocked_address",
        DecisionReason.DeniedAddress => "denied_address",
        DecisionReason.SniMismatch => "sni_mismatch",
        DecisionReason.HostMismatch => "host_mismatch",
        DecisionReason.ProtocolNotAllowed => "protocol_not_allowed",
        DecisionReason.MalformedRequest => "malformed_request",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>A sentence a user (or an agent) can act on, for denial bodies and <c>policy explain</c>.</summary>
    /// <param name="reason">The reason.</param>
    public static string Hint(DecisionReason reason) => reason switch
    {
        DecisionReason.AllowedByRule => "An allow rule matched this host and port.",
        DecisionReason.DefaultAllow => "No rule matched; the policy's default is allow.",
        DecisionReason.DefaultDeny => "No rule matched this host and port; add an allow rule for it if the agent needs it.",
        DecisionReason.MalformedHost => "The host is not a valid DNS name or IP address.",
        DecisionReason.DeniedByRule => "A deny rule matched; deny rules win over every allow rule.",
        DecisionReason.NoMatchingHttpRule => "The host is allowed, but not this method and path; extend the rule's 'http' list if the agent needs it.",
        DecisionReason.AskPending => "An ask rule matched; the control plane must approve the connection.",
        DecisionReason.AskApproved => "The control plane approved the connection.",
        DecisionReason.AskDenied => "The control plane refused the connection.",
        DecisionReason.AskTimeout => "Nobody approved the connection before the ask rule's timeout.",
        DecisionReason.BlockedAddress => "The host resolves to a private, loopback, link-local or otherwise internal address; list the range in 'addresses.allow' if it is meant to be reachable.",
        DecisionReason.DeniedAddress => "The host resolves to an address in the policy's 'addresses.deny'.",
        DecisionReason.SniMismatch => "The TLS server name differs from the destination that was allowed.",
        DecisionReason.HostMismatch => "The HTTP Host differs from the destination that was allowed (domain fronting is refused).",
        DecisionReason.ProtocolNotAllowed => "The connection did not start with TLS or HTTP; opaque TCP needs 'protocol: tcp' on the rule.",
        DecisionReason.MalformedRequest => "The request could not be parsed safely.",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
