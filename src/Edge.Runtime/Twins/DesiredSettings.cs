using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Runtime;

/// <summary>Binds a desired-properties section onto settings defaults and validates the result with DataAnnotations.</summary>
public static class DesiredSettings
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        AllowTrailingCommas = false,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>
    /// Overlays <paramref name="section"/> (a JSON object whose keys are camelCase property names, or null for "not set")
    /// on <paramref name="defaults"/> and validates every object in the graph. On failure <paramref name="errors"/> lists
    /// each problem with its path (e.g. <c>cameras[1].fps: The field Fps must be between 0.1 and 120.</c>).
    /// </summary>
    public static bool TryBind<T>(JsonNode? section, T defaults, out T settings, out IReadOnlyList<string> errors)
        where T : class
    {
        var merged = JsonSerializer.SerializeToNode(defaults, Options)!.AsObject();
        if (section is not null)
        {
            if (section is not JsonObject patch)
            {
                settings = defaults;
                errors = [$"expected a JSON object, got {section.GetValueKind()}"];
                return false;
            }

            Merge(merged, patch);
        }

        T? bound;
        try
        {
            bound = merged.Deserialize<T>(Options);
        }
        catch (JsonException ex)
        {
            settings = defaults;
            errors = [$"{(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path)}: {FirstLine(ex.Message)}"];
            return false;
        }

        if (bound is null)
        {
            settings = defaults;
            errors = ["settings are null"];
            return false;
        }

        var problems = new List<string>();
        Validate(bound, "", problems);
        errors = problems;
        settings = problems.Count == 0 ? bound : defaults;
        return problems.Count == 0;
    }

    /// <summary>Serialises settings the way they are reported (camelCase JSON).</summary>
    public static JsonNode? ToJson<T>(T settings) => JsonSerializer.SerializeToNode(settings, Options);

    /// <summary>JSON merge patch (RFC 7396): objects merge, null deletes, anything else replaces.</summary>
    public static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject po && target[key] is JsonObject to)
            {
                Merge(to, po);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }

    private static void Validate(object value, string path, List<string> problems)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        foreach (var r in results)
        {
            var members = string.Join(",", r.MemberNames.Select(JsonNamingPolicy.CamelCase.ConvertName));
            problems.Add($"{Join(path, members)}: {r.ErrorMessage}");
        }

        foreach (var p in value.GetType().GetProperties())
        {
            if (p.GetIndexParameters().Length > 0 || p.PropertyType.IsPrimitive || p.PropertyType == typeof(string))
            {
                continue;
            }

            var child = p.GetValue(value);
            var name = Join(path, JsonNamingPolicy.CamelCase.ConvertName(p.Name));
            if (child is IEnumerable list and not string and not IDictionary)
            {
                var i = 0;
                foreach (var item in list)
                {
                    if (item is not null && IsSettingsObject(item.GetType()))
                    {
                        Validate(item, $"{name}[{i}]", problems);
                    }

                    i++;
                }
            }
            else if (child is not null && IsSettingsObject(child.GetType()))
            {
                Validate(child, name, problems);
            }
        }
    }

    private static bool IsSettingsObject(Type t) => t.IsClass && t != typeof(string) && !t.Namespace!.StartsWith("System", StringComparison.Ordinal);

    private static string Join(string path, string member) => path.Length == 0 ? member : member.Length == 0 ? path : $"{path}.{member}";

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
