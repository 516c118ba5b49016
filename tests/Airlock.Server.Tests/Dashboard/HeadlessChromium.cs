using System.Text;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Airlock.Server.Tests.Dashboard;

/// <summary>
/// The real Debian <c>chromium</c>, headless, driven through the real <c>chromedriver</c> (Selenium): a fresh profile
/// under /var/tmp, no sandbox (the tests run as root on CI), nothing fetched from the network to find either binary.
/// </summary>
internal sealed class HeadlessChromium : IDisposable
{
    /// <summary>How long a page may take to show what a test waits for: CI machines are loaded.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";

    private readonly DirectoryInfo _profile;

    private HeadlessChromium(ChromeDriver driver, DirectoryInfo profile)
    {
        Driver = driver;
        _profile = profile;
    }

    public ChromeDriver Driver { get; }

    public static HeadlessChromium Start()
    {
        if (!File.Exists(Chromium) || !File.Exists(ChromeDriver))
        {
            throw new InvalidOperationException($"the dashboard tests need {Chromium} and {ChromeDriver}: apt-get install -y chromium chromium-driver (scripts/install-deps.sh does)");
        }

        var profile = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-chr-" + Guid.NewGuid().ToString("N")[..8]));
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments(
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--window-size=1400,1100",
            "--user-data-dir=" + profile.FullName);
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        try
        {
            var driver = new ChromeDriver(service, options, Patience);
            driver.Manage().Timeouts().PageLoad = Patience;
            driver.Manage().Timeouts().AsynchronousJavaScript = Patience;
            return new HeadlessChromium(driver, profile);
        }
        catch
        {
            service.Dispose();
            profile.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Waits until <paramref name="condition"/> gives a value; on timeout, fails with what the page shows and logged.</summary>
    public T WaitFor<T>(Func<IWebDriver, T?> condition, string what)
    {
        var wait = new WebDriverWait(Driver, Patience) { PollingInterval = TimeSpan.FromMilliseconds(100) };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        try
        {
            return wait.Until(d => condition(d))!;
        }
        catch (WebDriverTimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"the page did not show {what} within {Patience.TotalSeconds:0} s.\n{Diagnostics()}");
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds; on timeout, fails with what the page shows and logged.</summary>
    public void WaitUntil(Func<IWebDriver, bool> condition, string what) =>
        WaitFor(d => condition(d) ? d : null, what);

    /// <summary>The page's visible text and the browser console, for failure messages.</summary>
    public string Diagnostics()
    {
        var text = new StringBuilder();
        try
        {
            text.Append("page text:\n").Append(Driver.FindElement(By.TagName("body")).Text).Append('\n');
            text.Append("console:\n");
            foreach (var entry in ConsoleEntries())
            {
                text.Append(entry).Append('\n');
            }
        }
        catch (WebDriverException e)
        {
            text.Append("(cannot read the page: ").Append(e.Message).Append(')');
        }

        return text.ToString();
    }

    /// <summary>The browser console's entries since the last call.</summary>
    public IReadOnlyList<string> ConsoleEntries() =>
        [.. Driver.Manage().Logs.GetLog(LogType.Browser).Select(e => $"{e.Level}: {e.Message}")];

    public void Dispose()
    {
        try
        {
            Driver.Quit();
        }
        finally
        {
            Driver.Dispose();
            _profile.Delete(recursive: true);
        }
    }
}
