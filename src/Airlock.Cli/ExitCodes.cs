namespace Airlock.Cli;

/// <summary>The process exit codes of <c>airlock</c>, documented in docs/cli.md.</summary>
internal static class ExitCodes
{
    /// <summary>Success; for <c>policy explain</c>, the destination is allowed.</summary>
    public const int Success = 0;

    /// <summary>The command line could not be parsed.</summary>
    public const int Usage = 1;

    /// <summary>A policy is invalid (or could not be read).</summary>
    public const int InvalidPolicy = 2;

    /// <summary><c>policy explain</c>: the destination is denied.</summary>
    public const int Denied = 3;

    /// <summary><c>policy explain</c>: an ask rule matched; the control plane would decide.</summary>
    public const int Pending = 4;

    /// <summary>The gateway (<c>--server</c>, <c>AIRLOCK_SERVER</c>) cannot be reached (EX_UNAVAILABLE).</summary>
    public const int GatewayUnreachable = 69;

    /// <summary>The gateway refused the token: unknown, expired or revoked (401), or not allowed to do this (403) (EX_NOPERM).</summary>
    public const int Unauthorized = 77;

    /// <summary><c>sandbox</c> commands: the sandbox operation failed (no such sandbox, not running, a refused path), as opposed to the exit code of a command run by <c>exec</c>.</summary>
    public const int SandboxFailed = 125;
}
