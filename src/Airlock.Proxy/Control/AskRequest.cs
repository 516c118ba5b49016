using System.Security.Cryptography;

namespace Airlock.Proxy.Control;

/// <summary>The rule that asked, as written into an <c>ask</c>: <c>{index, kind, name}</c>.</summary>
/// <param name="Index">0-based index in the policy's egress list.</param>
/// <param name="Kind">The rule kind (<c>ask</c>).</param>
/// <param name="Name">The rule's name, if it has one.</param>
public sealed record AskRule(int Index, string Kind, string? Name);

/// <summary>A connection held by an <c>ask</c> rule, waiting for the control plane's decision.</summary>
public sealed record AskRequest
{
    /// <summary>Correlates the <c>decision</c> with this ask; a fresh random id unless given.</summary>
    public string AskId { get; init; } = NewAskId();

    /// <summary>The held connection's id (the <c>conn</c> of its events).</summary>
    public required string Conn { get; init; }

    /// <summary>The canonical destination host.</summary>
    public required string Host { get; init; }

    /// <summary>The destination port.</summary>
    public required int Port { get; init; }

    /// <summary>The rule that asked.</summary>
    public required AskRule Rule { get; init; }

    /// <summary>A new random ask id (16 lowercase hex digits).</summary>
    /// <returns>The id.</returns>
    public static string NewAskId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}

/// <summary>What the control plane decided about an ask.</summary>
public enum AskOutcome
{
    /// <summary>Let the connection through.</summary>
    Allow,

    /// <summary>Refuse the connection.</summary>
    Deny,

    /// <summary>No decision arrived in time; the caller treats this as a deny.</summary>
    Timeout,
}

/// <summary>How far an ask decision reaches.</summary>
public enum AskScope
{
    /// <summary>This connection only.</summary>
    Once,

    /// <summary>The rest of the session (the proxy remembers it).</summary>
    Session,
}

/// <summary>The answer to <see cref="ControlChannel.AskAsync"/>.</summary>
/// <param name="Outcome">Allow, deny or timeout.</param>
/// <param name="Scope">How far it reaches; <see cref="AskScope.Once"/> for a timeout.</param>
public readonly record struct AskAnswer(AskOutcome Outcome, AskScope Scope)
{
    /// <summary>No decision arrived in time.</summary>
    public static AskAnswer TimedOut => new(AskOutcome.Timeout, AskScope.Once);
}
