using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Airlock.Client;

/// <summary>Exec and files: <c>/v1/sandboxes/{id}/exec</c> and <c>/v1/sandboxes/{id}/files</c>.</summary>
public sealed partial class AirlockClient
{
    /// <summary>
    /// Runs a command in a ready sandbox and streams its output as it is written (<c>POST /v1/sandboxes/{id}/exec</c>,
    /// NDJSON): <see cref="ExecChunkKind.Stdout"/> and <see cref="ExecChunkKind.Stderr"/> chunks in order, then exactly
    /// one <see cref="ExecChunkKind.Exit"/> chunk. Stopping the enumeration (or cancelling) before the end kills the command.
    /// </summary>
    /// <param name="id">The sandbox.</param>
    /// <param name="request">The command.</param>
    /// <param name="cancellationToken">Cancels the call, which kills the command.</param>
    /// <exception cref="AirlockApiException">400 for a bad request (field errors); 404 no such sandbox; 409 not ready.</exception>
    /// <exception cref="IOException">The stream ended before the command's end.</exception>
    public async IAsyncEnumerable<ExecChunk> ExecStreamAsync(string id, ExecCommandRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(request);
        using var message = NewRequest(HttpMethod.Post, SandboxPath(id) + "/exec");
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        message.Content = JsonContent.Create(request, ClientJsonContext.Default.ExecCommandRequest);

        // No HttpClient timeout here: a command may run for the gateway's whole limit and stream all along.
        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(body, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var parsed = JsonSerializer.Deserialize(line, ClientJsonContext.Default.ExecLine)
                ?? throw new JsonException("the exec stream sent null");
            switch (parsed.Stream)
            {
                case "stdout":
                    yield return new ExecChunk { Kind = ExecChunkKind.Stdout, Data = parsed.Data ?? [] };
                    break;
                case "stderr":
                    yield return new ExecChunk { Kind = ExecChunkKind.Stderr, Data = parsed.Data ?? [] };
                    break;
                case null:
                    yield return new ExecChunk { Kind = ExecChunkKind.Exit, ExitCode = parsed.Exit, Error = parsed.Error };
                    yield break;
                default:
                    // A stream this SDK does not know (a newer gateway's): skipped.
                    break;
            }
        }

        throw new IOException($"the exec stream of sandbox {id} ended before the command's exit (the connection was lost or the gateway stopped)");
    }

    /// <summary>Runs a command in a ready sandbox and waits for its end (<c>POST /v1/sandboxes/{id}/exec?buffered=true</c>).</summary>
    /// <param name="id">The sandbox.</param>
    /// <param name="request">The command.</param>
    /// <param name="cancellationToken">Cancels the call, which kills the command.</param>
    /// <returns>Its output (each stream's first 1 MiB) and exit code.</returns>
    /// <exception cref="AirlockApiException">400 for a bad request (field errors); 404 no such sandbox; 409 not ready.</exception>
    public async Task<ExecResult> ExecAsync(string id, ExecCommandRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(request);
        using var message = NewRequest(HttpMethod.Post, SandboxPath(id) + "/exec?buffered=true");
        message.Content = JsonContent.Create(request, ClientJsonContext.Default.ExecCommandRequest);
        return await SendAsync(message, ClientJsonContext.Default.ExecResult, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads a file into a ready sandbox, streamed (<c>PUT /v1/sandboxes/{id}/files</c>, up to 256 MiB). The file is
    /// replaced whole or not at all; its directory must exist.
    /// </summary>
    /// <param name="id">The sandbox.</param>
    /// <param name="path">Where, inside: absolute or relative to its workdir, within its writable roots.</param>
    /// <param name="content">The bytes, read to its end (not disposed).</param>
    /// <param name="mode">Its permission bits; 0644 when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">400 a refused path; 404 no such sandbox or directory; 409 not ready; 413 too large.</exception>
    public async Task UploadFileAsync(string id, string path, Stream content, UnixFileMode? mode = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(content);
        var query = new QueryString();
        query.Add("path", path);
        query.Add("mode", mode is { } bits ? Convert.ToString((int)bits & 0x1FF, 8).PadLeft(4, '0') : null);
        using var message = NewRequest(HttpMethod.Put, SandboxPath(id) + "/files" + query);
        message.Content = new StreamContent(new NonDisposingStream(content));
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        await SendAsync(message, HttpStatusCode.NoContent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads a file from a ready sandbox into <paramref name="destination"/>, streamed (<c>GET /v1/sandboxes/{id}/files</c>).
    /// A download that fails after its first bytes throws (the gateway resets the connection), so a partial file is never
    /// taken for the whole: write to a temporary file and rename it when this returns.
    /// </summary>
    /// <param name="id">The sandbox.</param>
    /// <param name="path">The file inside: absolute or relative to its workdir.</param>
    /// <param name="destination">Where the bytes go (not disposed).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many bytes were written.</returns>
    /// <exception cref="AirlockApiException">400 a refused path; 404 no such sandbox or file; 409 not ready.</exception>
    /// <exception cref="HttpRequestException">The transfer broke off part way.</exception>
    /// <exception cref="IOException">The transfer broke off part way.</exception>
    public async Task<long> DownloadFileAsync(string id, string path, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(destination);
        var query = new QueryString();
        query.Add("path", path);
        using var message = NewRequest(HttpMethod.Get, SandboxPath(id) + "/files" + query);
        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                total += read;
            }

            return total;
        }
    }

    /// <summary>Lists a directory in a ready sandbox (<c>GET /v1/sandboxes/{id}/files?list=true</c>).</summary>
    /// <param name="id">The sandbox.</param>
    /// <param name="path">The directory: absolute or relative to its workdir (<c>.</c> for the workdir).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">400 not a directory or refused; 404 no such sandbox or directory; 409 not ready.</exception>
    public async Task<FileList> ListFilesAsync(string id, string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var query = new QueryString();
        query.Add("path", path);
        query.Add("list", "true");
        using var message = NewRequest(HttpMethod.Get, SandboxPath(id) + "/files" + query);
        return await SendAsync(message, ClientJsonContext.Default.FileList, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    private static string SandboxPath(string id) => "v1/sandboxes/" + Uri.EscapeDataString(id);

    /// <summary>The caller's stream as request content, left open when the request is disposed.</summary>
    private sealed class NonDisposingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
