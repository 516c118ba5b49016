using System.Text;
using System.Text.Json;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.InfrastructureTests;

public class CurlTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    private FakeOrigin Origin => fixture.Origin;

    [Fact]
    public async Task Curl_reaches_the_origin_over_https_with_the_test_root()
    {
        var result = await Curl.RunAsync("-sS", "--cacert", TestCertificates.RootPemPath, "--resolve", Origin.CurlResolveHttps(), Origin.HttpsUrl("/echo?via=curl").ToString());

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("2", result.HttpVersion); // curl negotiates h2 by ALPN
        Assert.Null(result.ConnectStatusCode);
        var echo = JsonSerializer.Deserialize(result.Stdout, FakeOriginJson.Default.EchoResponse);
        Assert.Equal("api.test", echo!.Sni);
        Assert.Equal("HTTP/2", echo.Protocol);
        Assert.Equal("?via=curl", echo.Query);
        Assert.NotNull(result.Header(FakeOrigin.RequestHeader));
        Assert.Equal("application/json; charset=utf-8", result.Header("Content-Type"));
    }

    [Fact]
    public async Task Curl_http1_and_plain_http()
    {
        var h1 = await Curl.RunAsync("-sS", "--http1.1", "--cacert", TestCertificates.RootPemPath, "--resolve", Origin.CurlResolveHttps(), Origin.HttpsUrl("/status/201").ToString());
        var plain = await Curl.RunAsync("-sS", "--resolve", Origin.CurlResolveHttp(), Origin.HttpUrl("/status/202").ToString());

        Assert.Equal(201, h1.StatusCode);
        Assert.Equal("1.1", h1.HttpVersion);
        Assert.Equal("status 201\n", h1.Stdout);
        Assert.Equal(202, plain.StatusCode);
    }

    [Fact]
    public async Task Curl_without_the_test_root_fails_verification()
    {
        var result = await Curl.RunAsync("-sS", "--resolve", Origin.CurlResolveHttps(), Origin.HttpsUrl("/echo").ToString());

        Assert.Equal(60, result.ExitCode); // peer certificate cannot be authenticated
        Assert.Null(result.StatusCode);
        Assert.NotNull(result.ErrorMessage);
    }

    [Fact]
    public async Task Curl_reports_download_size_and_sends_stdin()
    {
        var big = await Curl.RunAsync("-sS", "-o", "/dev/null", "--cacert", TestCertificates.RootPemPath, "--resolve", Origin.CurlResolveHttps(), Origin.HttpsUrl("/big/1048576").ToString());
        var upload = await Curl.RunAsync(
            CurlOptions.Default with { Stdin = Encoding.UTF8.GetBytes("from stdin") },
            "-sS", "--data-binary", "@-", "--resolve", Origin.CurlResolveHttp(), Origin.HttpUrl("/echo").ToString());

        Assert.Equal(1048576, big.SizeDownload);
        Assert.Empty(big.StdoutBytes);
        var echo = JsonSerializer.Deserialize(upload.Stdout, FakeOriginJson.Default.EchoResponse);
        Assert.Equal("POST", echo!.Method);
        Assert.Equal(10, echo.BodyLength);
    }

    [Fact]
    public async Task Curl_without_write_out_returns_stdout_untouched()
    {
        var result = await Curl.RunAsync(CurlOptions.Default with { WriteOut = false }, "-sS", "--resolve", Origin.CurlResolveHttp(), Origin.HttpUrl("/status/200").ToString());

        Assert.Equal("status 200\n", result.Stdout);
        Assert.Null(result.WriteOut);
        Assert.Null(result.StatusCode);
    }

    [Fact]
    public async Task Curl_is_killed_when_the_test_timeout_passes()
    {
        await using var silent = SilentOrigin.Start();

        var result = await Curl.RunAsync(CurlOptions.Default with { Timeout = TimeSpan.FromMilliseconds(500) }, "-sS", $"http://127.0.0.1:{silent.Port}/");

        Assert.True(result.TimedOut);
        Assert.False(result.Succeeded);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(5), result.ToString());
        Assert.Equal(1, silent.AcceptedCount);
    }

    [Fact]
    public async Task Curl_max_time_ends_with_exit_28_before_the_kill()
    {
        await using var silent = SilentOrigin.Start();

        var result = await Curl.RunAsync("-sS", "--max-time", "0.3", $"http://127.0.0.1:{silent.Port}/");

        Assert.False(result.TimedOut);
        Assert.Equal(28, result.ExitCode);
        Assert.Null(result.StatusCode);
    }

    [Fact]
    public async Task Curl_uses_only_the_proxy_environment_the_test_gives()
    {
        using var downProxy = new RefusedPort();
        var options = CurlOptions.Default with
        {
            Environment = new Dictionary<string, string?> { ["http_proxy"] = $"http://127.0.0.1:{downProxy.Port}" },
        };

        var result = await Curl.RunAsync(options, "-sS", Origin.HttpUrl("/echo", "127.0.0.1").ToString());

        Assert.Equal(7, result.ExitCode); // could not connect to the (refused) proxy
        Assert.Contains(downProxy.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Stderr, StringComparison.Ordinal);
    }
}
