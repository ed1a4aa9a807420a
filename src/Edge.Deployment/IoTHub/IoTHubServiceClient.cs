using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Edge.Deployment.IoTHub;

/// <summary>Options of <see cref="IoTHubServiceClient"/>.</summary>
public sealed class IoTHubServiceClientOptions
{
    /// <summary>Where requests go; null means <c>https://{HostName}</c>. Point it at the simulator (<c>http://127.0.0.1:port</c>).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The service API version. Default <c>2021-04-12</c> (the service SDK's).</summary>
    public string ApiVersion { get; set; } = "2021-04-12";

    /// <summary>Attempts after the first for transient failures (429, 5xx, connection errors). Default 4.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First retry delay, doubled each time with jitter. Default 500 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest retry delay. Default 10 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of one attempt (method calls add their own response and connect timeouts). Default 30 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Lifetime of the SAS token on each request. Default 1 h (the SDK's).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Microsoft Entra ID instead of the connection string's SAS key (<c>--auth entra</c>); null: SAS. Default null.</summary>
    public BearerTokenAuthorization? Entra { get; set; }
}

/// <summary>The result of a direct method: the status and payload the module returned.</summary>
public sealed record MethodInvocationResult(int Status, JsonNode? Payload);

/// <summary>
/// The IoT Hub service REST API the fleet commands use (docs/protocol.md, "IoT Hub service REST API"): apply a deployment to one edge device,
/// create an at-scale deployment, read and patch module twins, invoke module methods. Authenticates with a SAS token of a
/// hub-level policy; transient failures (429, 5xx, connection errors) are retried by one pipeline, <c>iothub-rest</c>.
/// </summary>
public sealed class IoTHubServiceClient : IDisposable
{
    /// <summary>The name of the resilience pipeline.</summary>
    public const string PipelineName = "iothub-rest";

    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json") { CharSet = "utf-8" };

    private readonly IoTHubConnectionString _connection;
    private readonly IoTHubServiceClientOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Uri _base;

    public IoTHubServiceClient(
        IoTHubConnectionString connection,
        IoTHubServiceClientOptions? options = null,
        HttpMessageHandler? handler = null,
        TimeProvider? timeProvider = null,
        ILogger<IoTHubServiceClient>? logger = null)
    {
        _connection = connection;
        _options = options ?? new IoTHubServiceClientOptions();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<IoTHubServiceClient>.Instance;
        _base = _options.Endpoint ?? new Uri("https://" + connection.HostName);
#pragma warning disable CA2000 // the HttpClient owns the handler and this client owns the HttpClient
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
#pragma warning restore CA2000
        _http.Timeout = Timeout.InfiniteTimeSpan; // the pipeline's timeout is the one that counts
        _http.DefaultRequestHeaders.ExpectContinue = false;
    }

    /// <summary>The base address requests go to.</summary>
    public Uri BaseAddress => _base;

    /// <summary>POST /devices/{id}/applyConfigurationContent: replaces the desired properties of every module twin in <c>modulesContent</c>.</summary>
    public async Task ApplyConfigurationContentAsync(string deviceId, JsonObject modulesContent, CancellationToken ct)
    {
        var body = new JsonObject { ["modulesContent"] = modulesContent.DeepClone() };
        using var response = await SendAsync(HttpMethod.Post, $"/devices/{Escape(deviceId)}/applyConfigurationContent", body, null, retryServerErrors: true, null, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// PUT /configurations/{id}: creates an at-scale deployment of <c>modulesContent</c> to every edge device matching
    /// <paramref name="targetCondition"/>; the answer is the created configuration.
    /// </summary>
    public async Task<JsonObject> CreateDeploymentAsync(
        string configurationId, JsonObject modulesContent, string targetCondition, int priority,
        IReadOnlyDictionary<string, string> metricQueries, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var queries = new JsonObject();
        foreach (var (k, v) in metricQueries)
        {
            queries[k] = v;
        }

        var labelObject = new JsonObject();
        foreach (var (k, v) in labels)
        {
            labelObject[k] = v;
        }

        var body = new JsonObject
        {
            ["id"] = configurationId,
            ["schemaVersion"] = "1.0",
            ["labels"] = labelObject,
            ["content"] = new JsonObject { ["modulesContent"] = modulesContent.DeepClone() },
            ["targetCondition"] = targetCondition,
            ["priority"] = priority,
            ["metrics"] = new JsonObject { ["queries"] = queries },
        };
        using var response = await SendAsync(HttpMethod.Put, $"/configurations/{Escape(configurationId)}", body, null, retryServerErrors: true, null, ct).ConfigureAwait(false);
        return await ReadObjectAsync(response, ct).ConfigureAwait(false);
    }

    /// <summary>GET /twins/{device}/modules/{module}: the module twin (with its <c>etag</c>).</summary>
    public async Task<JsonObject> GetModuleTwinAsync(string deviceId, string moduleId, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, TwinPath(deviceId, moduleId), null, null, retryServerErrors: true, null, ct).ConfigureAwait(false);
        return await ReadObjectAsync(response, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// PATCH /twins/{device}/modules/{module} with <c>{"properties":{"desired": patch}}</c> (merge-patch, <c>null</c> deletes),
    /// <c>If-Match</c> the quoted ETag or <c>*</c>; the answer is the updated twin. A stale ETag gives 412.
    /// </summary>
    public async Task<JsonObject> UpdateModuleTwinDesiredAsync(string deviceId, string moduleId, JsonObject desiredPatch, string etag, CancellationToken ct)
    {
        var body = new JsonObject { ["properties"] = new JsonObject { ["desired"] = desiredPatch.DeepClone() } };
        using var response = await SendAsync(HttpMethod.Patch, TwinPath(deviceId, moduleId), body, QuoteETag(etag), retryServerErrors: true, null, ct).ConfigureAwait(false);
        return await ReadObjectAsync(response, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// POST /twins/{device}/modules/{module}/methods. Not retried on 5xx or timeouts (the module may have run the method);
    /// only 429 and connection failures are retried.
    /// </summary>
    public async Task<MethodInvocationResult> InvokeModuleMethodAsync(
        string deviceId, string moduleId, string methodName, JsonNode? payload, int responseTimeoutSeconds, int connectTimeoutSeconds, CancellationToken ct)
    {
        var body = new JsonObject { ["methodName"] = methodName };
        if (responseTimeoutSeconds > 0)
        {
            body["responseTimeoutInSeconds"] = responseTimeoutSeconds;
        }

        if (connectTimeoutSeconds > 0)
        {
            body["connectTimeoutInSeconds"] = connectTimeoutSeconds;
        }

        body["payload"] = payload?.DeepClone();
        var attemptTimeout = TimeSpan.FromSeconds(15 + Math.Max(responseTimeoutSeconds, 30) + Math.Max(connectTimeoutSeconds, 0));
        using var response = await SendAsync(HttpMethod.Post, TwinPath(deviceId, moduleId) + "/methods", body, null, retryServerErrors: false, attemptTimeout, ct).ConfigureAwait(false);
        var result = await ReadObjectAsync(response, ct).ConfigureAwait(false);
        var status = result["status"] is JsonValue s && s.TryGetValue<int>(out var st) ? st : 0;
        return new MethodInvocationResult(status, result["payload"]?.DeepClone());
    }

    /// <summary>The Authorization header value for a request now: Entra's bearer token when configured, else <see cref="CreateAuthorization"/>.</summary>
    public ValueTask<string> GetAuthorizationAsync(CancellationToken ct) =>
        _options.Entra is { } entra ? entra.GetAuthorizationAsync(ct) : ValueTask.FromResult(CreateAuthorization());

    /// <summary>A service SAS for the hub host with <c>skn</c>.</summary>
    public string CreateAuthorization() =>
        SasToken.Create(WebUtility.UrlEncode(_connection.HostName), _connection.SharedAccessKey, _time.GetUtcNow() + _options.TokenLifetime, _connection.SharedAccessKeyName).ToString();

    /// <summary>GET with the hub's authorization, outside the REST retry pipeline (the simulator's upstream stream).</summary>
    internal async Task<HttpResponseMessage> GetStreamAsync(string pathAndQuery, string accept, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, pathAndQuery));
        request.Headers.TryAddWithoutValidation("Authorization", await GetAuthorizationAsync(ct).ConfigureAwait(false));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                throw IoTHubException.FromResponse(response.StatusCode, response.Headers, text);
            }
        }

        return response;
    }

    public void Dispose() => _http.Dispose();

    internal static string Escape(string id) => WebUtility.UrlEncode(id);

    internal static string QuoteETag(string etag) =>
        etag == "*" || (etag.Length >= 2 && etag[0] == '"' && etag[^1] == '"') ? etag : $"\"{etag}\"";

    private static string TwinPath(string deviceId, string moduleId) => $"/twins/{Escape(deviceId)}/modules/{Escape(moduleId)}";

    private static async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (text.Length == 0)
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new IoTHubException(response.StatusCode, null, "the answer is not a JSON object", null);
        }
        catch (JsonException ex)
        {
            throw new IoTHubException(response.StatusCode, null, "the answer is not JSON: " + ex.Message, null);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, string path, JsonNode? body, string? ifMatch, bool retryServerErrors, TimeSpan? attemptTimeout, CancellationToken ct)
    {
        var pipeline = BuildPipeline(method.Method, path, retryServerErrors, attemptTimeout ?? _options.AttemptTimeout);
        var uri = new Uri(_base, $"{path}?api-version={Uri.EscapeDataString(_options.ApiVersion)}");
        var payload = body?.ToJsonString();
        var response = await pipeline.ExecuteAsync(
            async token =>
            {
                using var request = new HttpRequestMessage(method, uri);
                request.Headers.TryAddWithoutValidation("Authorization", await GetAuthorizationAsync(token).ConfigureAwait(false));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (ifMatch is not null)
                {
                    request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
                }

                if (payload is not null)
                {
                    request.Content = new StringContent(payload, Encoding.UTF8);
                    request.Content.Headers.ContentType = JsonMediaType;
                }

                var started = Stopwatch.GetTimestamp();
                var r = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false);
                Log.Request(_logger, method.Method, path, (int)r.StatusCode, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return r;
            },
            ct).ConfigureAwait(false);

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            throw IoTHubException.FromResponse(response.StatusCode, response.Headers, text);
        }
    }

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline(string method, string path, bool retryServerErrors, TimeSpan attemptTimeout)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = PipelineName, TimeProvider = _time };
        if (_options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                MaxDelay = _options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome, retryServerErrors, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                OnRetry = args =>
                {
                    var reason = args.Outcome.Result is { } r ? Log.Describe(r.StatusCode) : args.Outcome.Exception?.GetType().Name ?? "failure";
                    Log.Retrying(_logger, method, path, args.AttemptNumber + 1, reason, (long)args.RetryDelay.TotalMilliseconds);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddTimeout(attemptTimeout);
        return builder.Build();
    }

    private TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        if (response?.Headers.RetryAfter is { } ra)
        {
            var delay = ra.Delta ?? (ra.Date is { } date ? date - _time.GetUtcNow() : null);
            if (delay is { } d && d > TimeSpan.Zero)
            {
                return d < _options.RetryMaxDelay ? d : _options.RetryMaxDelay;
            }
        }

        return null;
    }

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome, bool retryServerErrors, CancellationToken ct)
    {
        if (outcome.Exception is not null)
        {
            if (ct.IsCancellationRequested)
            {
                return false;
            }

            // A connection that never opened cannot have run anything: always safe to retry.
            if (outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }

            return retryServerErrors && outcome.Exception is HttpRequestException or TimeoutRejectedException;
        }

        var status = (int)outcome.Result!.StatusCode;
        return status == 429 || status == 503 || (retryServerErrors && status is 500 or 502 or 504);
    }
}
