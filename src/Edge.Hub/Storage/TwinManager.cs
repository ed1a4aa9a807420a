using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Hub.Storage;

/// <summary>One module twin: desired and reported collections with their versions.</summary>
internal sealed class TwinDocument
{
    public JsonObject Desired { get; set; } = [];

    public long DesiredVersion { get; set; } = 1;

    public JsonObject Reported { get; set; } = [];

    public long ReportedVersion { get; set; } = 1;

    /// <summary>IoT Hub style ETag: base64 of the 8-byte desired version (desired/tags changes move it; reported changes do not).</summary>
    public string ETag => "\"" + Convert.ToBase64String(BitConverter.GetBytes(DesiredVersion)) + "\"";

    /// <summary>The twin as a module GETs it (docs/protocol.md "Twins").</summary>
    public JsonObject ToModuleView() => new()
    {
        ["desired"] = WithVersion(Desired, DesiredVersion),
        ["reported"] = WithVersion(Reported, ReportedVersion),
    };

    public static JsonObject WithVersion(JsonObject collection, long version)
    {
        var copy = (JsonObject)collection.DeepClone();
        copy["$version"] = version;
        return copy;
    }

    public string Serialize() => new JsonObject
    {
        ["desired"] = Desired.DeepClone(),
        ["desiredVersion"] = DesiredVersion,
        ["reported"] = Reported.DeepClone(),
        ["reportedVersion"] = ReportedVersion,
    }.ToJsonString();

    public static TwinDocument Deserialize(string json)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        return new TwinDocument
        {
            Desired = o["desired"]?.AsObject().DeepClone().AsObject() ?? [],
            DesiredVersion = o["desiredVersion"]?.GetValue<long>() ?? 1,
            Reported = o["reported"]?.AsObject().DeepClone().AsObject() ?? [],
            ReportedVersion = o["reportedVersion"]?.GetValue<long>() ?? 1,
        };
    }
}

/// <summary>Module twins, cached in memory and persisted in the hub store on every change.</summary>
internal sealed class TwinManager(HubStore store)
{
    private readonly Dictionary<string, TwinDocument> _twins = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task LoadAsync(CancellationToken ct)
    {
        foreach (var (module, doc) in await store.LoadTwinsAsync(ct).ConfigureAwait(false))
        {
            _twins[module] = TwinDocument.Deserialize(doc);
        }
    }

    public bool Exists(string module)
    {
        lock (_twins)
        {
            return _twins.ContainsKey(module);
        }
    }

    /// <summary>Runs <paramref name="change"/> on the twin (created when missing) under the twin lock and persists it.</summary>
    public async Task<T> UpdateAsync<T>(string module, Func<TwinDocument, T> change, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            TwinDocument twin;
            lock (_twins)
            {
                if (!_twins.TryGetValue(module, out twin!))
                {
                    twin = new TwinDocument();
                    _twins[module] = twin;
                }
            }

            var result = change(twin);
            await store.SaveTwinAsync(module, twin.Serialize(), ct).ConfigureAwait(false);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A consistent copy of a twin, or null when the module has none.</summary>
    public async Task<TwinDocument?> ReadAsync(string module, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            lock (_twins)
            {
                return _twins.TryGetValue(module, out var t) ? TwinDocument.Deserialize(t.Serialize()) : null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Parses a patch body; throws <see cref="JsonException"/> when it is not a JSON object.</summary>
    public static JsonObject ParseObject(byte[] payload) =>
        JsonNode.Parse(payload) as JsonObject ?? throw new JsonException("not a JSON object");
}
