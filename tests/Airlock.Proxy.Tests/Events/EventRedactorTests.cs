using System.Text;
using System.Text.RegularExpressions;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Tests.Events;

public class EventRedactorTests
{
    private const string Secret = "s3cr3t-T0ken/v@lue+1";

    [Fact]
    public void Without_patterns_or_secrets_values_and_events_come_back_as_the_same_instance()
    {
        var redactor = new EventRedactor([]);
        var value = "/path?token=" + Secret;
        var e = SampleEvents.Full();

        Assert.False(redactor.IsActive);
        Assert.Same(value, redactor.Redact(value));
        Assert.Same(e, redactor.Redact(e));
    }

    [Fact]
    public void When_nothing_matches_values_and_events_come_back_as_the_same_instance()
    {
        var redactor = new EventRedactor(["sk-[A-Za-z0-9]{8,}"]);
        redactor.AddSecret(Secret);
        var value = "/repos/o/r?page=2";
        var e = SampleEvents.Full();

        Assert.True(redactor.IsActive);
        Assert.Same(value, redactor.Redact(value));
        Assert.Same(e, redactor.Redact(e));
    }

    [Theory]
    [InlineData("/v1?key=sk-abcdefgh12345678", "/v1?key=[REDACTED]")]
    [InlineData("sk-aaaaaaaa and sk-bbbbbbbb", "[REDACTED] and [REDACTED]")]
    [InlineData("/x?Token=abc&page=2", "/x?[REDACTED]&page=2")]
    [InlineData("/x?TOKEN=abc", "/x?[REDACTED]")]
    [InlineData("/x?page=2", "/x?page=2")]
    public void Replaces_every_pattern_match(string value, string expected)
    {
        var redactor = new EventRedactor(["sk-[A-Za-z0-9]{8,}", "(?i)token=[^&]+"]);

        Assert.Equal(expected, redactor.Redact(value));
    }

    [Fact]
    public void A_pattern_that_can_match_nothing_does_not_redact_between_characters()
    {
        var redactor = new EventRedactor(["x*"]);

        Assert.Equal("a[REDACTED]b", redactor.Redact("axxb"));
    }

    [Fact]
    public void Invalid_patterns_are_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => new EventRedactor(["(unclosed"]));
        Assert.Throws<NotSupportedException>(() => new EventRedactor(["a(?=b)"]));
    }

    [Fact]
    public void Patterns_run_in_linear_time()
    {
        var redactor = new EventRedactor(["(a+)+b"]);
        var hostile = new string('a', 100_000) + "c";

        Assert.Same(hostile, redactor.Redact(hostile));
    }

    [Theory]
    [InlineData("/v1/{0}/x")]
    [InlineData("/v1?key={0}&page=2")]
    [InlineData("{0}")]
    [InlineData("prefix{0}{0}suffix")]
    public void Replaces_a_secret_value_raw(string template)
    {
        var redactor = new EventRedactor([]);
        redactor.AddSecret(Secret);

        var redacted = redactor.Redact(string.Format(null, template, Secret));

        Assert.Equal(string.Format(null, template, "[REDACTED]"), redacted);
    }

    [Fact]
    public void Replaces_a_secret_value_percent_encoded_with_upper_or_lower_case_hex()
    {
        var redactor = new EventRedactor([]);
        redactor.AddSecret(Secret);
        var upper = Uri.EscapeDataString(Secret);
        var lower = Regex.Replace(upper, "%[0-9A-F]{2}", m => m.Value.ToLowerInvariant());

        Assert.NotEqual(Secret, upper);
        Assert.Equal("/a?k=[REDACTED]&b", redactor.Redact($"/a?k={upper}&b"));
        Assert.Equal("/a?k=[REDACTED]&b", redactor.Redact($"/a?k={lower}&b"));
    }

    [Fact]
    public void Replaces_a_secret_with_spaces_form_encoded()
    {
        var redactor = new EventRedactor([]);
        redactor.AddSecret("open sesame now");

        Assert.Equal("/login?p=[REDACTED]", redactor.Redact("/login?p=open+sesame+now"));
        Assert.Equal("/login?p=[REDACTED]", redactor.Redact("/login?p=open%20sesame%20now"));
    }

    [Fact]
    public void Replaces_a_secret_value_base64_encoded()
    {
        var redactor = new EventRedactor([]);
        var secret = "key>>>???!";
        redactor.AddSecret(secret);
        var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret));
        var base64Url = base64.TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.Equal("a2V5Pj4+Pz8/IQ==", base64);
        Assert.Equal("auth [REDACTED]==", redactor.Redact($"auth {base64}"));
        Assert.Equal("/t/[REDACTED]/x", redactor.Redact($"/t/{base64Url}/x"));
    }

    [Fact]
    public void Secrets_shorter_than_four_characters_are_ignored()
    {
        var redactor = new EventRedactor([]);

        Assert.False(redactor.AddSecret("abc"));
        Assert.False(redactor.IsActive);
        Assert.Equal("/abc", redactor.Redact("/abc"));
        Assert.True(redactor.AddSecret("abcd"));
        Assert.Equal("/[REDACTED]", redactor.Redact("/abcd"));
    }

    [Fact]
    public void The_longest_of_overlapping_secrets_is_redacted_whole()
    {
        var redactor = new EventRedactor([]);
        redactor.AddSecret("abcd");
        redactor.AddSecret("abcd1234");

        Assert.Equal("/[REDACTED]/[REDACTED]", redactor.Redact("/abcd1234/abcd"));
    }

    [Fact]
    public void Secrets_are_redacted_before_patterns_see_them()
    {
        var redactor = new EventRedactor(["1234"]);
        redactor.AddSecret("abcd1234");

        Assert.Equal("[REDACTED] [REDACTED]", redactor.Redact("abcd1234 1234"));
    }

    [Fact]
    public void Redacts_host_path_and_detail_of_an_event_and_nothing_else()
    {
        var redactor = new EventRedactor(["sk-[a-z]{8}"]);
        redactor.AddSecret(Secret);
        var e = SampleEvents.Full() with
        {
            Host = $"{Secret}.attacker.example",
            Path = "/v1?key=sk-abcdefgh",
            Detail = $"upstream said: bad token {Uri.EscapeDataString(Secret)}",
            Method = Secret,
        };

        var redacted = redactor.Redact(e);

        Assert.Equal(e with
        {
            Host = "[REDACTED].attacker.example",
            Path = "/v1?key=[REDACTED]",
            Detail = "upstream said: bad token [REDACTED]",
        }, redacted);
    }

    [Fact]
    public void Null_optional_fields_stay_null()
    {
        var redactor = new EventRedactor(["x"]);
        var e = SampleEvents.Close();

        Assert.Same(e, redactor.Redact(e));
    }

    [Fact]
    public void WithPatterns_keeps_the_secrets()
    {
        var redactor = new EventRedactor(["old"]);
        redactor.AddSecret(Secret);

        var reloaded = redactor.WithPatterns(["new"]);

        Assert.Equal("old new [REDACTED]", redactor.WithPatterns([]).Redact($"old new {Secret}"));
        Assert.Equal("old [REDACTED] [REDACTED]", reloaded.Redact($"old new {Secret}"));
    }

    [Fact]
    public void Secrets_can_be_added_while_other_threads_redact()
    {
        var redactor = new EventRedactor([]);
        var secrets = Enumerable.Range(0, 50).Select(i => $"secret-{i:D3}").ToArray();

        Parallel.Invoke(
            () =>
            {
                foreach (var secret in secrets)
                {
                    redactor.AddSecret(secret);
                }
            },
            () =>
            {
                for (var i = 0; i < 2_000; i++)
                {
                    redactor.Redact($"/x/secret-{i % 50:D3}");
                }
            });

        Assert.All(secrets, secret => Assert.Equal("/[REDACTED]", redactor.Redact("/" + secret)));
    }
}
