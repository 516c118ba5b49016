using Airlock.Server.Auth;
using Airlock.Server.Store;

namespace Airlock.Server.Tests.Auth;

public sealed class TokenCommandsTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "airlock-token-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Create_prints_only_the_token_and_the_token_authenticates_with_its_scope()
    {
        var url = "sqlite:" + Path.Combine(_directory, "nested", "airlock.db");
        using var stdout = new StringWriter();

        var info = await TokenCommands.CreateAsync(url, TokenScope.Sessions, TimeSpan.FromDays(30), "laptop", stdout, CancellationToken.None);

        var lines = stdout.ToString().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal(string.Empty, lines[1]);
        await using var store = await ServerStore.OpenAsync(url, CancellationToken.None);
        var authenticated = await store.AuthenticateAsync(lines[0], CancellationToken.None);
        Assert.NotNull(authenticated);
        Assert.Equal(info, authenticated);
        Assert.Equal(TokenScope.Sessions, authenticated.Scope);
        Assert.Equal("laptop", authenticated.Description);
        Assert.NotNull(authenticated.ExpiresAt);
    }

    [Fact]
    public async Task Create_with_a_bad_store_url_throws_a_store_exception_and_prints_nothing()
    {
        using var stdout = new StringWriter();

        await Assert.ThrowsAsync<StoreException>(() => TokenCommands.CreateAsync("nope:x", TokenScope.Admin, null, null, stdout, CancellationToken.None));

        Assert.Equal(string.Empty, stdout.ToString());
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("15m", 15 * 60)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("30d", 30 * 86400)]
    public void Ttls_have_a_number_and_a_unit(string text, int seconds)
    {
        Assert.True(TokenCommands.TryParseTtl(text, out var ttl));
        Assert.Equal(TimeSpan.FromSeconds(seconds), ttl);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("d")]
    [InlineData("0d")]
    [InlineData("-1h")]
    [InlineData("1.5h")]
    [InlineData("10")]
    [InlineData("10w")]
    [InlineData(" 1h")]
    [InlineData("99999999d")]
    public void Bad_ttls_are_refused(string? text)
    {
        Assert.False(TokenCommands.TryParseTtl(text, out _));
    }

    [Theory]
    [InlineData("admin", TokenScope.Admin)]
    [InlineData("sessions", TokenScope.Sessions)]
    public void Scopes_parse_and_print_by_name(string name, TokenScope scope)
    {
        Assert.True(TokenScopes.TryParse(name, out var parsed));
        Assert.Equal(scope, parsed);
        Assert.Equal(name, TokenScopes.Name(scope));
    }

    [Theory]
    [InlineData("Admin")]
    [InlineData("session")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_scopes_are_refused(string? name)
    {
        Assert.False(TokenScopes.TryParse(name, out _));
    }
}
