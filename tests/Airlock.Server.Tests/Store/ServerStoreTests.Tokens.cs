using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Airlock.Server.Auth;

namespace Airlock.Server.Tests.Store;

public abstract partial class ServerStoreTests
{
    [Fact]
    public async Task A_created_token_has_the_documented_shape_and_authenticates_with_its_scope()
    {
        var created = await Store.CreateTokenAsync(TokenScope.Sessions, null, "ci runner", CancellationToken.None);

        Assert.Matches(new Regex("^alk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$"), created.Token);
        Assert.StartsWith("alk_" + created.Info.Id + "_", created.Token, StringComparison.Ordinal);
        var info = await Store.AuthenticateAsync(created.Token, CancellationToken.None);
        Assert.NotNull(info);
        Assert.Equal(created.Info, info);
        Assert.Equal(TokenScope.Sessions, info.Scope);
        Assert.Equal("ci runner", info.Description);
        Assert.Equal(Start, info.CreatedAt);
        Assert.Null(info.ExpiresAt);
    }

    [Fact]
    public async Task Only_the_sha256_of_the_secret_is_stored()
    {
        var created = await Store.CreateTokenAsync(TokenScope.Admin, null, null, CancellationToken.None);
        var secret = System.Buffers.Text.Base64Url.DecodeFromChars(created.Token.AsSpan(4 + 12 + 1));

        var stored = (byte[])(await Database.ScalarAsync($"SELECT hash FROM tokens WHERE id = '{created.Info.Id}'"))!;

        Assert.Equal(32, secret.Length);
        Assert.Equal(SHA256.HashData(secret), stored);
    }

    [Fact]
    public async Task A_wrong_secret_or_an_unknown_id_does_not_authenticate()
    {
        var created = await Store.CreateTokenAsync(TokenScope.Admin, null, null, CancellationToken.None);
        var secretStart = 4 + 12 + 1;
        var flipped = created.Token[..secretStart] + (created.Token[secretStart] == 'A' ? 'B' : 'A') + created.Token[(secretStart + 1)..];
        var otherId = "alk_" + new string('z', 12) + created.Token[(4 + 12)..];

        Assert.Null(await Store.AuthenticateAsync(flipped, CancellationToken.None));
        Assert.Null(await Store.AuthenticateAsync(otherId, CancellationToken.None));
        Assert.NotNull(await Store.AuthenticateAsync(created.Token, CancellationToken.None));
    }

    [Fact]
    public async Task Malformed_tokens_are_refused_without_throwing()
    {
        var created = await Store.CreateTokenAsync(TokenScope.Admin, null, null, CancellationToken.None);
        var t = created.Token;
        string?[] malformed =
        [
            null, string.Empty, " ", "alk_", "alk__", "Bearer " + t, t + "x", t + " ", " " + t, t[..^1], t.ToUpperInvariant(),
            "ALK_" + t[4..], "alk_" + created.Info.Id + "_" + new string('=', 43), "alk_" + created.Info.Id + "_" + new string('!', 43),
            "alk_" + created.Info.Id + "-" + t[(4 + 12 + 1)..], t[..^1] + "\u00e9", t.Replace('_', '/'), "alk_" + new string('_', 56),
            t[..^1] + (t[^1] == 'B' ? "C" : "B"), new string('a', 100_000),
        ];

        foreach (var presented in malformed)
        {
            Assert.Null(await Store.AuthenticateAsync(presented, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_token_stops_working_when_its_ttl_ends()
    {
        var created = await Store.CreateTokenAsync(TokenScope.Admin, TimeSpan.FromHours(1), null, CancellationToken.None);
        Assert.Equal(Start.AddHours(1), created.Info.ExpiresAt);

        Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.NotNull(await Store.AuthenticateAsync(created.Token, CancellationToken.None));

        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(await Store.AuthenticateAsync(created.Token, CancellationToken.None));
    }

    [Fact]
    public async Task A_ttl_that_is_not_positive_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.CreateTokenAsync(TokenScope.Admin, TimeSpan.Zero, null, CancellationToken.None));
    }

    [Fact]
    public async Task A_revoked_token_stops_working_and_revoking_twice_or_unknown_is_false()
    {
        var revoked = await Store.CreateTokenAsync(TokenScope.Admin, null, null, CancellationToken.None);
        var kept = await Store.CreateTokenAsync(TokenScope.Admin, null, null, CancellationToken.None);
        Clock.Advance(TimeSpan.FromSeconds(5));

        Assert.True(await Store.RevokeTokenAsync(revoked.Info.Id, CancellationToken.None));
        Assert.False(await Store.RevokeTokenAsync(revoked.Info.Id, CancellationToken.None));
        Assert.False(await Store.RevokeTokenAsync("nosuchtoken0", CancellationToken.None));

        Assert.Null(await Store.AuthenticateAsync(revoked.Token, CancellationToken.None));
        Assert.NotNull(await Store.AuthenticateAsync(kept.Token, CancellationToken.None));
        var listed = Assert.Single(await Store.ListTokensAsync(CancellationToken.None), t => t.Id == revoked.Info.Id);
        Assert.Equal(Start.AddSeconds(5), listed.RevokedAt);
    }

    [Fact]
    public async Task Tokens_are_listed_oldest_first_with_their_details()
    {
        var first = await Store.CreateTokenAsync(TokenScope.Admin, null, "first", CancellationToken.None);
        Clock.Advance(TimeSpan.FromSeconds(1));
        var second = await Store.CreateTokenAsync(TokenScope.Sessions, TimeSpan.FromDays(1), "second", CancellationToken.None);

        var tokens = await Store.ListTokensAsync(CancellationToken.None);

        Assert.Equal([first.Info, second.Info], tokens);
        Assert.Equal(TokenScope.Sessions, tokens[1].Scope);
        Assert.Equal(Start.AddSeconds(1).AddDays(1), tokens[1].ExpiresAt);
    }
}
