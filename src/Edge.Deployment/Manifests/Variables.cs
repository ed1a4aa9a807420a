using System.Collections;
using System.Text;

namespace Edge.Deployment.Manifests;

/// <summary>
/// The variables a template is expanded with: the <c>.env</c> file, then the process environment, which wins — the same
/// precedence as the IoT Edge dev tool (python-dotenv <c>load_dotenv</c> without override: a variable already set in the
/// environment is not replaced by the file).
/// </summary>
public sealed class VariableSet
{
    private readonly Dictionary<string, string> _values;

    public VariableSet(IEnumerable<KeyValuePair<string, string>> values)
    {
        _values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in values)
        {
            _values[k] = v;
        }
    }

    /// <summary>No variables at all.</summary>
    public static VariableSet Empty { get; } = new([]);

    /// <summary>The <c>.env</c> values (when the file exists) overlaid by the process environment.</summary>
    public static VariableSet FromDotEnvAndEnvironment(string? dotEnvPath)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (dotEnvPath is not null && File.Exists(dotEnvPath))
        {
            foreach (var (k, v) in DotEnv.Parse(File.ReadAllText(dotEnvPath)))
            {
                values[k] = v;
            }
        }

        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            values[(string)e.Key] = (string?)e.Value ?? "";
        }

        return new VariableSet(values);
    }

    public bool TryGet(string name, out string value) => _values.TryGetValue(name, out value!);

    /// <summary>Old variable names and the names that replaced them (the IoT Edge dev tool's: <c>CONTAINER_REGISTRY_SERVER</c>).</summary>
    public static IReadOnlyDictionary<string, string> DeprecatedNames { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["CONTAINER_REGISTRY_ADDRESS"] = "CONTAINER_REGISTRY_SERVER",
    };

    /// <summary>
    /// The set with each deprecated name and its replacement both defined when either is: an old <c>.env</c> and an old
    /// template keep working. <paramref name="notes"/> gets one line per old name that was set, saying what to rename.
    /// </summary>
    public VariableSet WithDeprecatedAliases(out IReadOnlyList<string> notes)
    {
        var values = new Dictionary<string, string>(_values, StringComparer.Ordinal);
        var lines = new List<string>();
        foreach (var (old, current) in DeprecatedNames)
        {
            var hasOld = values.TryGetValue(old, out var oldValue);
            var hasCurrent = values.TryGetValue(current, out var currentValue);
            if (hasOld && !hasCurrent)
            {
                values[current] = oldValue!;
                lines.Add($"{old} is deprecated: rename it to {current} (the name iotedgedev uses); it is used as {current} for now");
            }
            else if (hasCurrent && !hasOld)
            {
                values[old] = currentValue!;
            }
        }

        notes = lines;
        return new VariableSet(values);
    }

    /// <summary>
    /// Expands <c>${VAR}</c> and <c>$VAR</c> in a plain string (module.json repository and version). Unknown
    /// <c>${VAR}</c> and unknown upper-case <c>$VAR</c> are added to <paramref name="unknown"/>; other <c>$words</c> stay.
    /// </summary>
    public string ExpandString(string text, ISet<string> unknown)
    {
        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '$' && Placeholder.TryRead(text, i, out var ph) && ph.Kind == PlaceholderKind.Variable)
            {
                if (TryGet(ph.Name, out var v))
                {
                    sb.Append(v);
                }
                else
                {
                    if (ph.Braced || Placeholder.LooksLikeEnvironmentName(ph.Name))
                    {
                        unknown.Add(ph.Name);
                    }

                    sb.Append(text, i, ph.Length);
                }

                i += ph.Length;
                continue;
            }

            sb.Append(text[i]);
            i++;
        }

        return sb.ToString();
    }
}

/// <summary>Reads <c>.env</c> files: <c>KEY=value</c>, optional <c>export</c>, <c>#</c> comments, single or double quotes.</summary>
public static class DotEnv
{
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line[7..].TrimStart();
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var key = line[..eq].Trim();
            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                var quote = value[0];
                value = value[1..^1];
                if (quote == '"')
                {
                    value = value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal);
                }
            }
            else
            {
                var hash = value.IndexOf(" #", StringComparison.Ordinal);
                if (hash >= 0)
                {
                    value = value[..hash].TrimEnd();
                }
            }

            result.Add(new(key, value));
        }

        return result;
    }
}
