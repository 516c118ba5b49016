namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>One <see cref="FakeOrigin"/> with default options per test class: <c>IClassFixture&lt;FakeOriginFixture&gt;</c>.</summary>
public sealed class FakeOriginFixture : IAsyncLifetime
{
    private FakeOrigin? _origin;

    /// <summary>The running origin.</summary>
    public FakeOrigin Origin => _origin ?? throw new InvalidOperationException("the fixture has not been initialised");

    /// <inheritdoc />
    public async Task InitializeAsync() => _origin = await FakeOrigin.StartAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_origin is not null)
        {
            await _origin.DisposeAsync();
        }
    }
}
