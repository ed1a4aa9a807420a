using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Runtime.Auth;

/// <summary>
/// The edgelet workload API (docs/protocol.md, "Workload API"): HTTP/1.1 over the unix socket in <c>IOTEDGE_WORKLOADURI</c>
/// (or plain http/https), api-version 2018-06-28 as the SDK uses.
/// </summary>
internal sealed class WorkloadClient : IDisposable
{
    public const string ApiVersion = "2018-06-28";
    private readonly HttpClient _http;
    private readonly string _moduleId;
    private readonly string _generationId;

    public WorkloadClient(Uri workloadUri, string moduleId, string generationId, Func<string, HttpMessageHandler>? handlerFactory = null)
    {
        _moduleId = moduleId;
        _generationId = generationId;
        HttpMessageHandler handler;
        Uri baseAddress;
        if (workloadUri.Scheme == "unix")
        {
            var socketPath = workloadUri.LocalPath;
            handler = handlerFactory?.Invoke(socketPath) ?? CreateUnixSocketHandler(socketPath);
            baseAddress = new Uri("http://workload.sock/");
        }
        else
        {
            handler = handlerFactory?.Invoke(workloadUri.ToString()) ?? new SocketsHttpHandler();
            baseAddress = workloadUri;
        }

        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public static SocketsHttpHandler CreateUnixSocketHandler(string socketPath) => new()
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
        PooledConnectionLifetime = TimeSpan.Zero,
    };

    /// <summary>POST /modules/{id}/genid/{gen}/sign: returns the Base64 HMAC-SHA256 digest of <paramref name="data"/>.</summary>
    public async Task<string> SignAsync(byte[] data, CancellationToken ct)
    {
        var url = $"modules/{Uri.EscapeDataString(_moduleId)}/genid/{Uri.EscapeDataString(_generationId)}/sign?api-version={ApiVersion}";
        // A buffered body with Content-Length, as the SDK sends (older edgelet versions do not read chunked bodies).
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new SignRequest("primary", "HMACSHA256", Convert.ToBase64String(data)), WorkloadJson.Default.SignRequest));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(url, content, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "sign", ct).ConfigureAwait(false);
        var body = await response.Content.ReadFromJsonAsync(WorkloadJson.Default.SignResponse, ct).ConfigureAwait(false);
        return body?.Digest is { Length: > 0 } d ? d : throw new WorkloadException(200, "sign: response has no digest");
    }

    /// <summary>GET /trust-bundle: the PEM text of the edge CA roots.</summary>
    public async Task<string> GetTrustBundleAsync(CancellationToken ct)
    {
        using var response = await _http.GetAsync($"trust-bundle?api-version={ApiVersion}", ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "trust-bundle", ct).ConfigureAwait(false);
        var body = await response.Content.ReadFromJsonAsync(WorkloadJson.Default.TrustBundleResponse, ct).ConfigureAwait(false);
        return body?.Certificate is { Length: > 0 } c ? c : throw new WorkloadException(200, "trust-bundle: response has no certificate");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        throw new WorkloadException((int)response.StatusCode, $"workload API {operation} failed: {(int)response.StatusCode} {text}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A workload API error with its HTTP status (5xx are transient).</summary>
internal sealed class WorkloadException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

internal sealed record SignRequest(
    [property: JsonPropertyName("keyId")] string KeyId,
    [property: JsonPropertyName("algo")] string Algo,
    [property: JsonPropertyName("data")] string Data);

internal sealed record SignResponse([property: JsonPropertyName("digest")] string? Digest);

internal sealed record TrustBundleResponse([property: JsonPropertyName("certificate")] string? Certificate);

[JsonSerializable(typeof(SignRequest))]
[JsonSerializable(typeof(SignResponse))]
[JsonSerializable(typeof(TrustBundleResponse))]
internal sealed partial class WorkloadJson : JsonSerializerContext;
