using System.Net;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Fakes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Airlock.Kubernetes.Tests.FakeTests;

/// <summary>The fake API server answers the real client (KubernetesClient) as a real API server would.</summary>
public sealed class FakeKubernetesApiServerTests : IAsyncLifetime, IDisposable
{
    private FakeKubernetesApiServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeKubernetesApiServer.StartAsync();
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseAddress.ToString() });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task Create_get_list_by_label_and_delete_behave_like_the_api_server()
    {
        var created = await _client.CoreV1.CreateNamespacedSecretAsync(Secret("one", "s1"), "team");
        await _client.CoreV1.CreateNamespacedSecretAsync(Secret("two", "s2"), "team");
        await _client.CoreV1.CreateNamespacedSecretAsync(Secret("other", "s1"), "elsewhere");

        var fetched = await _client.CoreV1.ReadNamespacedSecretAsync("one", "team");
        var listed = await _client.CoreV1.ListNamespacedSecretAsync("team", labelSelector: "airlock.dev/session=s1");
        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedSecretAsync(Secret("one", "s1"), "team"));
        await _client.CoreV1.DeleteNamespacedSecretAsync("one", "team", propagationPolicy: "Foreground");
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReadNamespacedSecretAsync("one", "team"));
        var deleteMissing = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.DeleteNamespacedSecretAsync("one", "team"));

        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        Assert.Equal("team", created.Metadata.NamespaceProperty);
        Assert.Equal(created.Metadata.Uid, fetched.Metadata.Uid);
        Assert.Equal(["one"], listed.Items.Select(s => s.Metadata.Name));
        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);
        Assert.Contains("AlreadyExists", conflict.Response.Content, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, deleteMissing.Response.StatusCode);
        Assert.Contains(_server.Requests, r => r.Method == "DELETE" && r.PropagationPolicy == "Foreground");
    }

    [Fact]
    public async Task Invalid_names_are_422_and_injected_failures_happen_once()
    {
        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedSecretAsync(Secret("Not_Valid", "s"), "team"));
        _server.FailNext(r => r.Method == "POST" && r.Plural == "secrets", 500);
        var injected = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedSecretAsync(Secret("ok", "s"), "team"));
        var retried = await _client.CoreV1.CreateNamespacedSecretAsync(Secret("ok", "s"), "team");

        Assert.Equal((HttpStatusCode)422, invalid.Response.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, injected.Response.StatusCode);
        Assert.Equal("ok", retried.Metadata.Name);
    }

    [Fact]
    public async Task A_stale_resource_version_is_a_conflict_and_deleting_an_owner_collects_its_dependents()
    {
        var owner = await _client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "agent" }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "i" }] } }, "team");
        var owned = Secret("owned", "s");
        owned.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Pod", Name = "agent", Uid = owner.Metadata.Uid }];
        await _client.CoreV1.CreateNamespacedSecretAsync(owned, "team");
        var stale = await _client.CoreV1.ReadNamespacedPodAsync("agent", "team");
        _server.Update("pods", "team", "agent", pod => pod["metadata"]!["labels"] = new JsonObject { ["changed"] = "yes" });

        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReplaceNamespacedPodAsync(stale, "agent", "team"));
        await _client.CoreV1.DeleteNamespacedPodAsync("agent", "team");

        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);
        Assert.Empty(_server.Objects);
    }

    private static V1Secret Secret(string name, string session) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { [KubernetesLabels.Session] = session } },
        StringData = new Dictionary<string, string> { ["k"] = "v" },
    };
}
