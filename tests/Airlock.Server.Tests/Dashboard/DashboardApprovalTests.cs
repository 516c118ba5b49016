using Airlock.Server.Tests.Api;
using OpenQA.Selenium;

namespace Airlock.Server.Tests.Dashboard;

/// <summary>
/// Held <c>ask</c> decisions on the dashboard: a request from a real sandbox waits on its proxy, shows up as a pending
/// approval on the page, and a click on the page decides it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DashboardApprovalTests : DashboardTestBase
{
    /// <summary>Asks about the loopback origin (long enough for a loaded machine), denies the rest.</summary>
    private const string AskPolicy = $"""
        version: 1
        name: ask-origin
        default: deny
        egress:
          - ask: 127.0.0.2
            name: ask-origin
            timeout: 120s
        {LoopbackOrigin.AddressesAllow}
        """;

    [Fact]
    public async Task An_ask_is_held_shown_as_a_pending_approval_and_approving_it_on_the_page_lets_the_request_through()
    {
        var id = await CreateSandboxAsync(AskPolicy);
        SignInAndWaitLive();
        Chromium.WaitUntil(d => d.FindElement(By.CssSelector("#approvals li.empty")).Displayed, "the approvals panel connected");

        var curl = ExecAsync(id, Curl(Origin.Url + "/approved"));
        var pending = Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#approvals li.approval.pending[data-session='{id}']")), "the pending approval");
        Assert.Contains($"127.0.0.2:{Origin.Port}", pending.FindElement(By.CssSelector(".destination")).Text, StringComparison.Ordinal);
        Assert.False(curl.IsCompleted, "the request is held until someone decides");
        Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#feed tr.event[data-decision='pending'][data-session='{id}']")), "the ask in the event feed");

        pending.FindElement(By.CssSelector("button.approve")).Click();

        var (exit, output) = await curl.WaitAsync(HeadlessChromium.Patience);
        Assert.Equal((0, "200\nhello /approved"), (exit, output));
        var decided = Chromium.WaitFor(d => d.FindElement(By.CssSelector("#approvals-decided li.approval.state-approved")), "the approval as decided");
        Assert.Contains($"127.0.0.2:{Origin.Port}", decided.Text, StringComparison.Ordinal);
        Assert.Contains("(once)", decided.Text, StringComparison.Ordinal);
        Assert.Empty(Page.FindElements(By.CssSelector("#approvals li.approval.pending")));
        var approved = Chromium.WaitFor(d => Row(d, id, "allow", "ask_approved"), "the approved request in the feed");
        Assert.Equal("allow", approved.FindElement(By.CssSelector(".badge")).Text);
        Chromium.WaitUntil(d => d.FindElement(By.CssSelector($"#sandboxes tr.sandbox[data-id='{id}'] td.count-pending")).Text == "1", "the sandbox's ask counter at 1");
    }

    [Fact]
    public async Task Denying_an_ask_on_the_page_refuses_the_request()
    {
        var id = await CreateSandboxAsync(AskPolicy);
        SignInAndWaitLive();
        Chromium.WaitUntil(d => d.FindElement(By.CssSelector("#approvals li.empty")).Displayed, "the approvals panel connected");

        var curl = ExecAsync(id, Curl(Origin.Url + "/approved"));
        var pending = Chromium.WaitFor(d => d.FindElement(By.CssSelector($"#approvals li.approval.pending[data-session='{id}']")), "the pending approval");
        pending.FindElement(By.CssSelector("button.deny")).Click();

        var (exit, output) = await curl.WaitAsync(HeadlessChromium.Patience);
        Assert.Equal(0, exit);
        Assert.StartsWith("403", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hello", output, StringComparison.Ordinal);
        Chromium.WaitFor(d => d.FindElement(By.CssSelector("#approvals-decided li.approval.state-denied")), "the approval as denied");
        var denied = Chromium.WaitFor(d => Row(d, id, "deny", "ask_denied"), "the denied request in the feed");
        Assert.Equal("deny", denied.FindElement(By.CssSelector(".badge")).Text);
    }

    /// <summary>The feed's row of the sandbox's event with this decision and reason, if shown.</summary>
    private static IWebElement? Row(IWebDriver page, string session, string decision, string reason) =>
        page.FindElements(By.CssSelector($"#feed tr.event[data-decision='{decision}'][data-session='{session}']"))
            .FirstOrDefault(row => row.FindElement(By.CssSelector("td.reason")).Text == reason);
}
