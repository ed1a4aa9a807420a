using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Edge.Protocol;

namespace Edge.Runtime;

/// <summary>
/// Binds a desired-properties section onto settings defaults and validates the result with DataAnnotations. Trim- and
/// AOT-safe: the settings graph is described by a source-generated <see cref="JsonTypeInfo{T}"/> (a
/// <see cref="JsonSerializerContext"/> declared with
/// <c>[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]</c>
/// and <see cref="CamelCaseEnumConverter{TEnum}"/> for each enum), and validation walks that metadata.
/// </summary>
public static class DesiredSettings
{
    /// <summary>
    /// Overlays <paramref name="section"/> (a JSON object whose keys are camelCase property names, or null for "not set")
    /// on <paramref name="defaults"/> and validates every object in the graph. On failure <paramref name="errors"/> lists
    /// each problem with its path (e.g. <c>cameras[1].fps: The field Fps must be between 0.1 and 120.</c>).
    /// </summary>
    public static bool TryBind<T>(JsonNode? section, T defaults, JsonTypeInfo<T> typeInfo, out T settings, out IReadOnlyList<string> errors)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        CheckOptions(typeInfo.Options);
        var merged = JsonSerializer.SerializeToNode(defaults, typeInfo)!.AsObject();
        if (section is not null)
        {
            if (section is not JsonObject patch)
            {
                settings = defaults;
                errors = [$"expected a JSON object, got {section.GetValueKind()}"];
                return false;
            }

            JsonMergePatch.Apply(merged, patch);
        }

        T? bound;
        try
        {
            bound = merged.Deserialize(typeInfo);
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
        Validate(bound, typeInfo, "", problems);
        errors = problems;
        settings = problems.Count == 0 ? bound : defaults;
        return problems.Count == 0;
    }

    /// <summary>Serialises settings the way they are reported (camelCase JSON).</summary>
    public static JsonNode? ToJson<T>(T settings, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        CheckOptions(typeInfo.Options);
        return JsonSerializer.SerializeToNode(settings, typeInfo);
    }

    /// <summary>A deep copy through the settings' JSON form.</summary>
    public static T Clone<T>(T settings, JsonTypeInfo<T> typeInfo)
        where T : class =>
        JsonSerializer.SerializeToNode(settings, typeInfo)!.Deserialize(typeInfo)!;

    /// <summary>Settings are camelCase, case-insensitive on input, and an unknown key is an error (a typo must not pass silently).</summary>
    private static void CheckOptions(JsonSerializerOptions o)
    {
        if (o.PropertyNamingPolicy != JsonNamingPolicy.CamelCase || !o.PropertyNameCaseInsensitive || o.UnmappedMemberHandling != JsonUnmappedMemberHandling.Disallow)
        {
            throw new ArgumentException(
                "settings JSON must use [JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]",
                nameof(o));
        }
    }

    /// <summary>
    /// What <c>Validator.TryValidateObject(value, ..., validateAllProperties: true)</c> does (property attributes, RequiredAttribute
    /// first; then, if those pass, <see cref="IValidatableObject"/>), driven by the JSON metadata instead of reflection, then
    /// the same for every settings object below (lists by index).
    /// </summary>
    private static void Validate(object value, JsonTypeInfo typeInfo, string path, List<string> problems)
    {
        var results = new List<ValidationResult>();
        foreach (var p in typeInfo.Properties)
        {
            if (p.Get is null || p.AttributeProvider is not MemberInfo member)
            {
                continue;
            }

            var attributes = member.GetCustomAttributes(typeof(ValidationAttribute), inherit: true).Cast<ValidationAttribute>().ToArray();
            if (attributes.Length == 0)
            {
                continue;
            }

            var context = new ValidationContext(value, member.Name, serviceProvider: null, items: null) { MemberName = member.Name };
            _ = Validator.TryValidateValue(p.Get(value), context, results, attributes);
        }

        if (results.Count == 0 && value is IValidatableObject validatable)
        {
            var context = new ValidationContext(value, typeInfo.Type.Name, serviceProvider: null, items: null);
            results.AddRange(validatable.Validate(context).Where(r => r != ValidationResult.Success));
        }

        foreach (var r in results)
        {
            var members = string.Join(",", r.MemberNames.Select(JsonNamingPolicy.CamelCase.ConvertName));
            problems.Add($"{Join(path, members)}: {r.ErrorMessage}");
        }

        foreach (var p in typeInfo.Properties)
        {
            if (p.Get is null || p.Get(value) is not { } child)
            {
                continue;
            }

            var name = Join(path, p.AttributeProvider is MemberInfo m ? JsonNamingPolicy.CamelCase.ConvertName(m.Name) : p.Name);
            var childInfo = typeInfo.Options.GetTypeInfo(p.PropertyType);
            if (IsSettingsObject(childInfo))
            {
                Validate(child, childInfo, name, problems);
            }
            else if (childInfo.Kind == JsonTypeInfoKind.Enumerable && childInfo.ElementType is { } elementType
                && typeInfo.Options.GetTypeInfo(elementType) is var itemInfo && IsSettingsObject(itemInfo))
            {
                var i = 0;
                foreach (var item in (System.Collections.IEnumerable)child)
                {
                    if (item is not null)
                    {
                        Validate(item, itemInfo, $"{name}[{i}]", problems);
                    }

                    i++;
                }
            }
        }
    }

    private static bool IsSettingsObject(JsonTypeInfo info) => info.Kind == JsonTypeInfoKind.Object && !info.Type.IsValueType;

    private static string Join(string path, string member) => path.Length == 0 ? member : member.Length == 0 ? path : $"{path}.{member}";

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}

/// <summary>
/// Enum values as camelCase strings (<c>"inline"</c>), any case or the number on input: the AOT-safe form of
/// <c>new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)</c>. List one per enum in a settings context's
/// <c>[JsonSourceGenerationOptions(Converters = [...])]</c>.
/// </summary>
/// <typeparam name="TEnum">The enum.</typeparam>
public sealed class CamelCaseEnumConverter<TEnum> : JsonStringEnumConverter<TEnum>
    where TEnum : struct, Enum
{
    /// <summary>Creates the converter.</summary>
    public CamelCaseEnumConverter()
        : base(JsonNamingPolicy.CamelCase)
    {
    }
}
