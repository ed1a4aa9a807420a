using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Hub.Security;

/// <summary>
/// Symmetric keys of the edge device, every module identity and the hub-level <c>iothubowner</c> policy,
/// generated with <see cref="RandomNumberGenerator"/> and persisted (owner-only) in <c>identities.json</c>.
/// </summary>
internal sealed class IdentityStore
{
    public const string PolicyName = "iothubowner";

    private readonly string _path;
    private readonly Lock _gate = new();
    private readonly Model _model;

    private IdentityStore(string path, Model model)
    {
        _path = path;
        _model = model;
    }

    public string DeviceKey => _model.DeviceKey;

    public string PolicyKey => _model.PolicyKey;

    public static IdentityStore LoadOrCreate(string directory)
    {
        var path = Path.Combine(directory, "identities.json");
        Model? model = null;
        if (File.Exists(path))
        {
            model = JsonSerializer.Deserialize<Model>(File.ReadAllText(path));
        }

        model ??= new Model { DeviceKey = NewKey(), PolicyKey = NewKey() };
        var store = new IdentityStore(path, model);
        store.Save();
        return store;
    }

    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The module's key, creating the identity when it does not exist yet.</summary>
    public string GetOrCreateModuleKey(string moduleId)
    {
        lock (_gate)
        {
            if (!_model.Modules.TryGetValue(moduleId, out var key))
            {
                key = NewKey();
                _model.Modules[moduleId] = key;
                Save();
            }

            return key;
        }
    }

    public bool TryGetModuleKey(string moduleId, out string key)
    {
        lock (_gate)
        {
            return _model.Modules.TryGetValue(moduleId, out key!);
        }
    }

    public IReadOnlyList<string> ModuleIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _model.Modules.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    private void Save() => CertificateAuthority.WritePrivate(_path, JsonSerializer.Serialize(_model));

    private sealed class Model
    {
        [JsonPropertyName("deviceKey")]
        public string DeviceKey { get; set; } = "";

        [JsonPropertyName("policyKey")]
        public string PolicyKey { get; set; } = "";

        [JsonPropertyName("modules")]
        public Dictionary<string, string> Modules { get; set; } = new(StringComparer.Ordinal);
    }
}
