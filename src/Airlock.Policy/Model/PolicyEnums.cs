namespace Airlock.Policy.Model;

/// <summary>How a policy's decisions are applied.</summary>
public enum PolicyMode
{
    /// <summary>Denials are enforced.</summary>
    Enforce,

    /// <summary>Decisions are computed and recorded (<c>would_deny</c>), but traffic is let through.</summary>
    Audit,
}

/// <summary>What happens to a destination no rule matched.</summary>
public enum DefaultAction
{
    /// <summary>Refuse it (the secure default).</summary>
    Deny,

    /// <summary>Let it through (an explicitly open policy).</summary>
    Allow,
}

/// <summary>What the proxy does with TLS on an allowed connection.</summary>
public enum TlsMode
{
    /// <summary>Terminate TLS with a leaf from the session CA and police each HTTP request.</summary>
    Inspect,

    /// <summary>Relay the TLS bytes untouched (pinned or mTLS upstreams); only the SNI is checked.</summary>
    Passthrough,
}

/// <summary>The kind of an egress rule.</summary>
public enum RuleKind
{
    /// <summary>Let matching destinations through.</summary>
    Allow,

    /// <summary>Refuse matching destinations; deny rules are evaluated before every allow rule.</summary>
    Deny,

    /// <summary>Hold the connection and ask the control plane.</summary>
    Ask,
}

/// <summary>What an allowed connection may carry.</summary>
public enum RuleProtocol
{
    /// <summary>TLS or plain HTTP (the default).</summary>
    Http,

    /// <summary>Opaque TCP through CONNECT (git over ssh, databases).</summary>
    Tcp,
}
