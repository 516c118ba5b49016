using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Airlock.Server.Tests.Api;
using OpenQA.Selenium;

namespace Airlock.Server.Tests.Dashboard;

/// <summary>
/// The web dashboard end to end: a real gateway, real local sandboxes, and the real headless Chromium on the page.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class DashboardTests : DashboardTestBase
{
    private const string BlockedHost = "blocked.example";

    /// <summary>Denies one host by a named rule, allows the loopback origin, denies the rest.</summary>
    private string Policy() => $"""
        version: 1
        name: dashboard-test
        default: deny
        egress:
          - deny: {BlockedHost}
            name: no-blocked
          - allow: 127.0.0.2
            ports: [{Origin.Port}]
        {LoopbackOrigin.AddressesAllow}
        """;

    [Fact]
    public async Task The_page_is_served_without_a_token_with_strict_security_headers_and_nothing_from_elsewhere()
    {
        var page = await Anonymous.GetAsync(new Uri("/", UriKind.Relative));
        var script = await Anonymous.GetAsync(new Uri("/dashboard.js", UriKind.Relative));
        var style = await Anonymous.GetAsync(new Uri("/dashboard.css", UriKind.Relative));
        var html = await page.Content.ReadAsStringAsync();
        var js = await script.Content.ReadAsStringAsync();
        var css = await style.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/css", style.Content.Headers.ContentType?.MediaType);
        foreach (var response in new[] { page, script, style })
        {
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        }

        // No inline script or style, no handler attributes, nothing fetched from another origin: it works offline.
        Assert.DoesNotMatch(InlineScript(), html);
        Assert.DoesNotMatch(HandlerAttribute(), html);
        Assert.DoesNotContain("style=", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(RemoteUrl(), html + js + css);
        Assert.DoesNotContain("innerHTML", js, StringComparison.Ordinal);
        Assert.DoesNotContain("insertAdjacentHTML", js, StringComparison.Ordinal);

        // A conditional request gets 304; the API behind the page still needs a token.
        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await Anonymous.SendAsync(again)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Anonymous.GetAsync(new Uri("/v1/sandboxes", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_bad_token_is_refused_and_a_good_one_shows_the_sandboxes_with_their_state()
    {
        var id = await CreateSandboxAsync(Policy(), "{\"team\":\"blue\"}");

        SignIn("alk_nobody_forged");
        var error = Chromium.WaitFor(d => d.FindElement(By.Id("login-error")) is { Displayed: true } e && e.Text.Length > 0 ? e.Text : null, "a sign-in error");
        Assert.Contains("unknown, expired or revoked", error, StringComparison.Ordinal);
        Assert.False(Page.FindElement(By.Id("app")).Displayed);

        SignIn();
        var row = Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{id}']")), "the sandbox in the list");
        Assert.Equal("ready", row.FindElement(By.CssSelector(".badge")).Text);
        Assert.Contains("team=blue", row.Text, StringComparison.Ordinal);
        Assert.Contains("local", row.Text, StringComparison.Ordinal);
        Assert.False(Page.FindElement(By.Id("login")).Displayed);

        // The token lives in the tab's session storage: a reload stays signed in; signing out forgets it.
        Page.Navigate().Refresh();
        Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{id}']")), "the sandbox after a reload");
        Page.FindElement(By.Id("logout")).Click();
        Chromium.WaitUntil(d => d.FindElement(By.Id("login")).Displayed, "the sign-in form after signing out");
        Assert.Null(((IJavaScriptExecutor)Page).ExecuteScript("return sessionStorage.getItem('airlock.token')"));

        // A sandbox deleted through the API changes state on the page (deleted ones show when asked for).
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative))).StatusCode);
        SignIn();
        Page.FindElement(By.Id("show-deleted")).Click();
        var deleted = Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{id}'][data-state='deleted']")), "the sandbox as deleted");
        Assert.Equal("deleted", deleted.FindElement(By.CssSelector(".badge")).Text);
    }

    [Fact]
    public async Task A_denial_appears_live_with_its_reason_and_rule_coloured_as_deny_and_the_filter_hides_and_shows_it()
    {
        var id = await CreateSandboxAsync(Policy());
        SignInAndWaitLive();
        Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{id}'] button.link")), "the sandbox").Click();
        Chromium.WaitUntil(d => d.FindElement(By.Id("feed-scope")).Text.Contains(id, StringComparison.Ordinal) && d.FindElement(By.Id("status")).Text == "live", "the sandbox's own live feed");
        Assert.Empty(Page.FindElements(By.CssSelector("#feed tr.event")));

        var (exit, output) = await ExecAsync(id, Curl($"http://{BlockedHost}/"));
        Assert.Equal(0, exit);
        Assert.StartsWith("403", output, StringComparison.Ordinal);

        var denial = Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#feed tr.event[data-decision='deny'][data-host='{BlockedHost}']")), "the denial in the feed");
        Assert.Equal("denied_by_rule", denial.FindElement(By.CssSelector("td.reason")).Text);
        Assert.Equal("#0 deny “no-blocked”", denial.FindElement(By.CssSelector("td.rule")).Text);
        Assert.Equal("deny", denial.FindElement(By.CssSelector(".badge")).Text);
        Assert.Equal(id, denial.FindElement(By.CssSelector("td.session")).Text);
        Assert.Equal("rgba(253, 231, 231, 1)", denial.GetCssValue("background-color"));
        Assert.Equal("rgba(198, 40, 40, 1)", denial.FindElement(By.CssSelector("td.reason")).GetCssValue("color"));
        Chromium.WaitUntil(d => d.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{id}'] td.count-deny")).Text == "1", "the sandbox's deny counter at 1");

        // Filters: by decision and by text, and back.
        Choose("filter-decision", "allow");
        Chromium.WaitUntil(d => d.FindElements(By.CssSelector($"#feed tr.event[data-host='{BlockedHost}']")).Count == 0, "the denial hidden by the allow filter");
        Choose("filter-decision", "deny");
        Chromium.WaitUntil(d => d.FindElements(By.CssSelector($"#feed tr.event[data-host='{BlockedHost}']")).Count == 1, "the denial shown by the deny filter");
        var text = Page.FindElement(By.Id("filter-text"));
        text.SendKeys("no-such-host");
        Chromium.WaitUntil(d => d.FindElements(By.CssSelector("#feed tr.event")).Count == 0, "nothing matching the text filter");
        text.Clear();
        text.SendKeys("no-blocked");
        Chromium.WaitUntil(d => d.FindElements(By.CssSelector($"#feed tr.event[data-host='{BlockedHost}']")).Count == 1, "the denial found by its rule's name");

        // The overall feed has it too, from the store.
        text.Clear();
        Choose("filter-decision", "");
        Page.FindElement(By.Id("scope-all")).Click();
        Chromium.WaitUntil(d => d.FindElement(By.Id("feed-scope")).Text == "of every sandbox" && d.FindElements(By.CssSelector($"#feed tr.event[data-decision='deny'][data-host='{BlockedHost}']")).Count == 1, "the denial in the overall feed");
        AssertNoContentSecurityPolicyViolations();
    }

    [Fact]
    public async Task The_chart_has_bars_for_allowed_and_denied_requests()
    {
        var id = await CreateSandboxAsync(Policy());
        SignInAndWaitLive();

        var allowed = await ExecAsync(id, Curl(Origin.Url + "/"));
        var denied = await ExecAsync(id, Curl($"http://{BlockedHost}/"));

        Assert.Equal((0, "200\nhello /"), allowed);
        Assert.StartsWith("403", denied.Stdout, StringComparison.Ordinal);
        Chromium.WaitUntil(d => d.FindElements(By.CssSelector("#chart rect.bar-allow")).Count > 0 && d.FindElements(By.CssSelector("#chart rect.bar-deny")).Count > 0, "bars for allowed and denied");

        // The chart is redrawn as events come and time passes: read it in one go.
        var bars = ((IJavaScriptExecutor)Page).ExecuteScript(
            "return [...document.querySelectorAll('#chart rect.bar')].map(b => [b.dataset.decision, b.dataset.count, b.getAttribute('height'), getComputedStyle(b).fill].join('|'))");
        var parsed = ((IEnumerable<object>)bars!).Select(b => ((string)b).Split('|'))
            .Select(p => (Decision: p[0], Count: int.Parse(p[1], CultureInfo.InvariantCulture), Height: double.Parse(p[2], CultureInfo.InvariantCulture), Fill: p[3]))
            .ToList();
        Assert.True(parsed.Where(b => b.Decision == "allow").Sum(b => b.Count) >= 1, "an allowed request is counted");
        Assert.Equal(1, parsed.Where(b => b.Decision == "deny").Sum(b => b.Count));
        Assert.All(parsed, b => Assert.True(b.Height > 0, "a bar has a height"));
        Assert.Contains(parsed, b => (b.Decision, b.Fill) == ("allow", "rgb(31, 138, 76)"));
        Assert.Contains(parsed, b => (b.Decision, b.Fill) == ("deny", "rgb(198, 40, 40)"));
        Assert.Equal("1", Page.FindElement(By.Id("chart-total-deny")).Text);
    }

    [Fact]
    public async Task A_sessions_token_sees_its_own_sandboxes_and_their_events_only()
    {
        var others = await CreateSandboxAsync(Policy());
        var token = (await Host.Store.CreateTokenAsync(Airlock.Server.Auth.TokenScope.Sessions, null, "agent", CancellationToken.None)).Token;
        using var agent = new HttpClient { BaseAddress = Host.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        agent.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var own = await SandboxCurl.CreateAsync(agent, Policy());

        SignIn(token);
        Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{own}']")), "its own sandbox");
        Assert.Empty(Page.FindElements(By.CssSelector($"#sandboxes tr.sandbox[data-id='{others}']")));
        var refusal = Chromium.WaitFor(d => d.FindElement(By.Id("feed-status")) is { Text.Length: > 0 } e && d.FindElement(By.Id("status")).Text == "refused" ? e.Text : null, "the overall feed refused");
        Assert.Contains("a session token reads the events of one of its sandboxes", refusal, StringComparison.Ordinal);

        Page.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{own}'] button.link")).Click();
        Chromium.WaitUntil(d => d.FindElement(By.Id("status")).Text == "live", "its sandbox's live feed");

        // The other sandbox's denial is stored first: had the page been sent it, it would show before this one's.
        Assert.StartsWith("403", (await ExecAsync(others, Curl($"http://{BlockedHost}/"))).Stdout, StringComparison.Ordinal);
        await StoredAsync(others);
        Assert.StartsWith("403", await SandboxCurl.GetAsync(agent, own, $"http://{BlockedHost}/"), StringComparison.Ordinal);
        Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#feed tr.event[data-decision='deny'][data-session='{own}']")), "its own denial");
        Assert.Empty(Page.FindElements(By.CssSelector($"#feed tr.event[data-session='{others}']")));
    }

    [Fact]
    public void The_policy_editor_marks_a_broken_policy_at_its_line_and_saves_a_good_one()
    {
        SignInAndWaitLive();
        var editor = Page.FindElement(By.Id("policy-text"));
        editor.Clear();
        editor.SendKeys("version: 1\negress:\n  - alow: api.example.com\n");

        var marker = Chromium.WaitFor(d => d.FindElement(By.CssSelector("#policy-gutter .line.error[data-line='3']")), "an error marker at line 3");
        var problem = Chromium.WaitFor(d => d.FindElement(By.CssSelector("#policy-problems li.problem.error[data-line='3']")), "the problem in the list");
        Assert.StartsWith("3:5 error: unknown key 'alow'", problem.Text, StringComparison.Ordinal);
        Assert.Contains("did you mean 'allow'?", problem.Text, StringComparison.Ordinal);
        Assert.StartsWith("3:5: unknown key 'alow'", marker.GetDomProperty("title"), StringComparison.Ordinal);
        Assert.Empty(Page.FindElements(By.CssSelector("#policy-gutter .line.error:not([data-line='3'])")));
        Assert.Matches("^[0-9]+ errors?$", Page.FindElement(By.Id("policy-status")).Text);

        // Saving it is refused at the same line; fixed, it is stored as version 1.
        Page.FindElement(By.Id("policy-name")).SendKeys("team-policy");
        Page.FindElement(By.Id("policy-save")).Click();
        Chromium.WaitUntil(d => d.FindElement(By.Id("policy-status")).Text == "not saved: the policy has errors", "the refused save");
        Assert.NotNull(Page.FindElement(By.CssSelector("#policy-gutter .line.error[data-line='3']")));
        editor.Clear();
        editor.SendKeys("version: 1\negress:\n  - allow: api.example.com\n");
        Chromium.WaitUntil(d => d.FindElement(By.Id("policy-status")).Text == "valid" && d.FindElements(By.CssSelector("#policy-gutter .line.error")).Count == 0, "the fixed policy valid");
        Page.FindElement(By.Id("policy-save")).Click();
        Chromium.WaitUntil(d => d.FindElement(By.Id("policy-status")).Text == "saved team-policy version 1", "the saved policy");
        Chromium.WaitUntil(d => d.FindElements(By.CssSelector("#policy-list option[value='team-policy']")).Count == 1, "the policy in the list");
    }

    /// <summary>Waits until the store holds a denial of <paramref name="session"/>.</summary>
    private async Task StoredAsync(string session)
    {
        for (var deadline = DateTime.UtcNow + HeadlessChromium.Patience; DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            var page = await JsonAsync(await Admin.GetAsync(new Uri($"/v1/events?session={session}&decision=deny", UriKind.Relative)));
            if (page.GetProperty("items").GetArrayLength() > 0)
            {
                return;
            }
        }

        throw new Xunit.Sdk.XunitException($"no denial of {session} was stored");
    }

    private void Choose(string select, string value) =>
        Page.FindElement(By.CssSelector($"#{select} option[value='{value}']")).Click();

    private void AssertNoContentSecurityPolicyViolations()
    {
        var violations = Chromium.ConsoleEntries().Where(e => e.Contains("Content Security Policy", StringComparison.Ordinal)).ToList();
        Assert.Empty(violations);
    }

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"\son[a-z]+\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex HandlerAttribute();

    [GeneratedRegex(@"(https?:)?//(?!www\.w3\.org/2000/svg)[a-z0-9.-]+\.[a-z]{2,}/", RegexOptions.IgnoreCase)]
    private static partial Regex RemoteUrl();
}
