namespace Edge.Routing;

/// <summary>The three-valued result of a route condition (edgeHub Routing.Core <c>Bool</c>). Only <see cref="True"/> routes a message.</summary>
public enum ConditionResult
{
    /// <summary>The condition holds: the message is routed.</summary>
    True,

    /// <summary>The condition does not hold.</summary>
    False,

    /// <summary>The condition could not be decided (a missing property, a type mismatch at run time, <c>null</c>): not routed.</summary>
    Undefined,
}

/// <summary>
/// What the route compiler enables (Routing.Core <c>RouteCompilerFlags</c>). edgeHub compiles its routes with
/// <see cref="All"/>; the others exist so that conditions can be checked as a compiler without those features sees them.
/// </summary>
[Flags]
public enum RouteCompilerFlags
{
    /// <summary>Neither <c>twin_change_includes</c> nor <c>$body</c> queries: <c>$body.x</c> is then the system property <c>body.x</c>.</summary>
    None = 0,

    /// <summary>The <c>twin_change_includes</c> function (in routes from <c>/twinChangeNotifications</c>).</summary>
    TwinChangeIncludes = 1,

    /// <summary><c>$body</c> queries.</summary>
    BodyQuery = 2,

    /// <summary>Everything: what edgeHub uses.</summary>
    All = TwinChangeIncludes | BodyQuery,
}

/// <summary>Where a route sends the messages it matches. <see cref="object.ToString"/> gives the route-language text.</summary>
public abstract record RouteSink;

/// <summary><c>$upstream</c>: to IoT Hub.</summary>
public sealed record UpstreamSink : RouteSink
{
    /// <summary>The one instance.</summary>
    public static UpstreamSink Instance { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => "$upstream";
}

/// <summary><c>BrokeredEndpoint("/modules/{ModuleId}/inputs/{InputName}")</c>: to a module input on this device.</summary>
public sealed record ModuleInputSink(string ModuleId, string InputName) : RouteSink
{
    /// <inheritdoc/>
    public override string ToString() => $"BrokeredEndpoint(\"/modules/{ModuleId}/inputs/{InputName}\")";
}

/// <summary>
/// A message as routing sees it. System properties use edgeHub's internal names: <c>contentType</c>, <c>contentEncoding</c>,
/// <c>connectionDeviceId</c>, <c>connectionModuleId</c>, <c>outputName</c>, <c>messageId</c>, <c>cid</c>, <c>userId</c>,
/// <c>messageSchema</c>, <c>creationTime</c>, <c>edgeHubOriginInterface</c>, ...
/// </summary>
/// <param name="Source">The message source path (docs/protocol.md, "Routes"), e.g. <c>/messages/modules/camera/outputs/frames</c>.</param>
/// <param name="Body">The payload.</param>
/// <param name="Properties">Application properties.</param>
/// <param name="SystemProperties">System properties by edgeHub internal name.</param>
/// <remarks>
/// Property names are looked up case-insensitively, as edgeHub's message model does (<c>KEY1</c> finds <c>key1</c>).
/// A property may be present with a null value (edgeHub's message model allows it; MQTT cannot carry one): such names are in
/// <see cref="NullProperties"/> and <see cref="NullSystemProperties"/>, and <see cref="Create"/> builds a message from
/// dictionaries with null values.
/// </remarks>
public sealed record RoutingMessage(
    string Source,
    ReadOnlyMemory<byte> Body,
    IReadOnlyDictionary<string, string> Properties,
    IReadOnlyDictionary<string, string> SystemProperties)
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    // The parsed JSON body, computed at most once per message however many routes query it. Not part of equality.
    private readonly BodyCache _body = new();

    private RoutingMessage(RoutingMessage original)
    {
        Source = original.Source;
        Body = original.Body;
        Properties = original.Properties;
        SystemProperties = original.SystemProperties;
        NullProperties = original.NullProperties;
        NullSystemProperties = original.NullSystemProperties;
        _body = new BodyCache();
    }

    /// <summary>Names of application properties present with a null value (none by default).</summary>
    public IReadOnlyCollection<string> NullProperties { get; init; } = [];

    /// <summary>Names of system properties present with a null value (none by default).</summary>
    public IReadOnlyCollection<string> NullSystemProperties { get; init; } = [];

    /// <summary>A message whose properties may have null values (those go to <see cref="NullProperties"/> and <see cref="NullSystemProperties"/>).</summary>
    public static RoutingMessage Create(
        string source,
        ReadOnlyMemory<byte> body,
        IEnumerable<KeyValuePair<string, string?>> properties,
        IEnumerable<KeyValuePair<string, string?>> systemProperties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        ArgumentNullException.ThrowIfNull(systemProperties);
        var (app, appNulls) = Split(properties);
        var (sys, sysNulls) = Split(systemProperties);
        return new RoutingMessage(source, body, app, sys) { NullProperties = appNulls, NullSystemProperties = sysNulls };
    }

    /// <summary>A message from module <paramref name="moduleId"/> on output <paramref name="outputName"/> (or none) with a JSON body.</summary>
    public static RoutingMessage FromModule(
        string deviceId,
        string moduleId,
        string? outputName,
        ReadOnlyMemory<byte> body,
        IReadOnlyDictionary<string, string>? properties = null,
        IReadOnlyDictionary<string, string>? systemProperties = null)
    {
        var sys = new Dictionary<string, string>(systemProperties ?? Empty)
        {
            ["connectionDeviceId"] = deviceId,
            ["connectionModuleId"] = moduleId,
        };
        if (outputName is not null)
        {
            sys["outputName"] = outputName;
        }

        var source = outputName is null ? $"/messages/modules/{moduleId}" : $"/messages/modules/{moduleId}/outputs/{outputName}";
        return new RoutingMessage(source, body, properties ?? Empty, sys);
    }

    /// <summary>Compares source, body bytes and the property dictionaries' contents.</summary>
    public bool Equals(RoutingMessage? other) =>
        other is not null
        && string.Equals(Source, other.Source, StringComparison.Ordinal)
        && Body.Span.SequenceEqual(other.Body.Span)
        && SameContents(Properties, other.Properties)
        && SameContents(SystemProperties, other.SystemProperties)
        && NullProperties.Order(StringComparer.Ordinal).SequenceEqual(other.NullProperties.Order(StringComparer.Ordinal), StringComparer.Ordinal)
        && NullSystemProperties.Order(StringComparer.Ordinal).SequenceEqual(other.NullSystemProperties.Order(StringComparer.Ordinal), StringComparer.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Source, Body.Length, Properties.Count, SystemProperties.Count);

    /// <summary>A short description for logs (no property values or body bytes).</summary>
    public override string ToString() => $"RoutingMessage {{ Source = {Source}, Body = {Body.Length} bytes, Properties = {Properties.Count}, SystemProperties = {SystemProperties.Count} }}";

    internal BodyCache BodyState => _body;

    /// <summary>
    /// Looks a property up by name, case-insensitively: true with its value (null for a null-valued one) when present.
    /// An exact-case match wins; otherwise the first name equal ignoring case.
    /// </summary>
    internal static bool TryGet(IReadOnlyDictionary<string, string> values, IReadOnlyCollection<string> nulls, string name, out string? value)
    {
        if (values.TryGetValue(name, out var v))
        {
            value = v;
            return true;
        }

        value = null;
        foreach (var n in nulls)
        {
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        foreach (var (k, w) in values)
        {
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase))
            {
                value = w;
                return true;
            }
        }

        foreach (var n in nulls)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static (Dictionary<string, string> Values, string[] Nulls) Split(IEnumerable<KeyValuePair<string, string?>> properties)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var nulls = new List<string>();
        foreach (var (k, v) in properties)
        {
            if (v is null)
            {
                nulls.Add(k);
            }
            else
            {
                values[k] = v;
            }
        }

        return (values, [.. nulls]);
    }

    private static bool SameContents(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (k, v) in a)
        {
            if (!b.TryGetValue(k, out var w) || !string.Equals(v, w, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A route or condition that does not compile. The message says what is wrong and at which column (1-based).</summary>
public sealed class RouteCompileException : Exception
{
    public RouteCompileException()
        : this("route does not compile")
    {
    }

    public RouteCompileException(string message)
        : base(message)
    {
    }

    public RouteCompileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal RouteCompileException(string problem, int column)
        : this($"{problem} (column {column})", problem, column)
    {
    }

    internal RouteCompileException(string message, string problem, int column)
        : base(message)
    {
        Problem = problem;
        Column = column;
    }

    /// <summary>What is wrong, without the position.</summary>
    public string Problem { get; } = string.Empty;

    /// <summary>The 1-based column of the offending text in the route (or condition) text; 0 when not known.</summary>
    public int Column { get; }
}
