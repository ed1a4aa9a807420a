using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Edge.Runtime.Diagnostics;

/// <summary>
/// The labels IoT Edge's built-in metrics carry on every series (<c>iothub</c>, <c>edge_device</c>, <c>instance_number</c>:
/// a GUID per process start, so a collector can tell a restart from a counter reset) plus <c>module_name</c>, as edgeAgent
/// labels per-module series.
/// </summary>
internal sealed record MetricLabels(string IotHub, string EdgeDevice, string InstanceNumber, string ModuleName)
{
    /// <summary>From <c>EdgeHubConnectionString</c>/<c>IotHubConnectionString</c>, else the <c>IOTEDGE_*</c> variables; empty when unknown.</summary>
    public static MetricLabels FromConfiguration(IConfiguration c, Guid instance)
    {
        var cs = c["EdgeHubConnectionString"] is { Length: > 0 } e ? e : c["IotHubConnectionString"];
        Dictionary<string, string>? parts = null;
        if (!string.IsNullOrWhiteSpace(cs) && EdgeHubSettings.TryParseConnectionString(cs, out var p, out _))
        {
            parts = p;
        }

        string Pick(string key, string variable) => parts?.GetValueOrDefault(key) is { Length: > 0 } v ? v : c[variable] ?? "";
        return new MetricLabels(
            Pick("HostName", "IOTEDGE_IOTHUBHOSTNAME"),
            Pick("DeviceId", "IOTEDGE_DEVICEID"),
            instance.ToString("D"),
            Pick("ModuleId", "IOTEDGE_MODULEID"));
    }

    public IEnumerable<KeyValuePair<string, string>> All()
    {
        yield return new("iothub", IotHub);
        yield return new("edge_device", EdgeDevice);
        yield return new("instance_number", InstanceNumber);
        yield return new("module_name", ModuleName);
    }
}

/// <summary>
/// Collects every instrument of the meters whose name starts with <c>Edge.</c> (created through the host's <c>IMeterFactory</c>
/// when given, so other hosts in the same process stay out) and renders them in the Prometheus text format the way IoT Edge's
/// edgeHub/edgeAgent expose theirs for the metrics-collector: <c># HELP</c> and <c># TYPE</c> per metric, counters named
/// <c>_total</c>, durations in seconds (<c>ms</c> instruments are converted and named <c>_seconds</c>), byte instruments named
/// <c>_bytes</c>, histograms as <c>_bucket{le=…}</c>/<c>_sum</c>/<c>_count</c>, and the <see cref="MetricLabels"/> on every series.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    /// <summary>Prometheus client defaults, in seconds.</summary>
    internal static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>1 KiB to 16 MiB by powers of 4.</summary>
    internal static readonly double[] ByteBuckets = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

    internal static readonly double[] DefaultBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly ConcurrentDictionary<Instrument, Family> _families = new();
    private readonly string _constantLabels;
    private readonly MeterListener _listener;

    public PrometheusExporter(MetricLabels labels, IMeterFactory? meterFactory)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in labels.All())
        {
            AppendLabel(sb, k, v);
        }

        _constantLabels = sb.ToString();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name.StartsWith("Edge.", StringComparison.Ordinal) && (meterFactory is null || ReferenceEquals(instrument.Meter.Scope, meterFactory)))
                {
                    _families.TryAdd(instrument, Family.For(instrument));
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<float>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private enum Kind
    {
        Counter,
        Gauge,
        Histogram,
    }

    /// <summary>The exposition text (metric families sorted by name, series by labels).</summary>
    public string Render()
    {
        _listener.RecordObservableInstruments();
        var sb = new StringBuilder();
        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            if (family.Series.IsEmpty)
            {
                continue;
            }

            sb.Append("# HELP ").Append(family.Name).Append(' ').Append(EscapeHelp(family.Help)).Append('\n');
            sb.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Kind switch { Kind.Counter => "counter", Kind.Histogram => "histogram", _ => "gauge" }).Append('\n');
            foreach (var (labels, series) in family.Series.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                series.Render(sb, family, labels);
            }
        }

        return sb.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!_families.TryGetValue(instrument, out var family))
        {
            return;
        }

        var sb = new StringBuilder(_constantLabels);
        foreach (var (k, v) in tags)
        {
            var name = SanitizeName(k);
            if (name is "iothub" or "edge_device" or "instance_number" or "module_name" or "le")
            {
                continue;
            }

            AppendLabel(sb, name, Convert.ToString(v, CultureInfo.InvariantCulture) ?? "");
        }

        var series = family.Series.GetOrAdd(sb.ToString(), _ => new Series(family.Buckets.Length));
        series.Record(family, value * family.Scale);
    }

    private static void AppendLabel(StringBuilder sb, string name, string value)
    {
        if (sb.Length > 0)
        {
            sb.Append(',');
        }

        sb.Append(name).Append("=\"");
        foreach (var ch in value)
        {
            _ = ch switch
            {
                '\\' => sb.Append("\\\\"),
                '"' => sb.Append("\\\""),
                '\n' => sb.Append("\\n"),
                _ => sb.Append(ch),
            };
        }

        sb.Append('"');
    }

    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string SanitizeName(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var ch in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(ch) || ch == '_' ? ch : '_');
        }

        return sb.Length > 0 && char.IsAsciiDigit(sb[0]) ? "_" + sb : sb.ToString();
    }

    internal static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string WithSuffix(string name, string suffix) => name.EndsWith(suffix, StringComparison.Ordinal) ? name : name + suffix;

    private sealed class Family
    {
        public required string Name { get; init; }

        public required string Help { get; init; }

        public required Kind Kind { get; init; }

        /// <summary>Whether a measurement is a delta to add (counters, up-down counters) rather than the current value (observables).</summary>
        public required bool Additive { get; init; }

        public required double Scale { get; init; }

        public required double[] Buckets { get; init; }

        public ConcurrentDictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

        public static Family For(Instrument instrument)
        {
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            var kind = generic == typeof(Counter<>) || generic == typeof(ObservableCounter<>) ? Kind.Counter
                : generic == typeof(Histogram<>) ? Kind.Histogram
                : Kind.Gauge;
            var additive = generic == typeof(Counter<>) || generic == typeof(UpDownCounter<>);

            var name = SanitizeName(instrument.Name);
            var scale = 1.0;
            double[] buckets = DefaultBuckets;
            switch (instrument.Unit)
            {
                case "ms":
                    scale = 0.001;
                    name = WithSuffix(name.EndsWith("_ms", StringComparison.Ordinal) ? name[..^3] : name, "_seconds");
                    buckets = SecondsBuckets;
                    break;
                case "s":
                    name = WithSuffix(name, "_seconds");
                    buckets = SecondsBuckets;
                    break;
                case "By":
                    name = WithSuffix(name, "_bytes");
                    buckets = ByteBuckets;
                    break;
            }

            if (kind == Kind.Counter)
            {
                name = WithSuffix(name, "_total");
            }

            if (kind == Kind.Histogram && AdvisedBuckets(instrument) is { Count: > 0 } advised)
            {
                buckets = [.. advised.Select(b => b * scale)];
            }

            return new Family
            {
                Name = name,
                Help = string.IsNullOrWhiteSpace(instrument.Description) ? instrument.Name : instrument.Description,
                Kind = kind,
                Additive = additive,
                Scale = scale,
                Buckets = kind == Kind.Histogram ? buckets : [],
            };
        }

        private static IReadOnlyList<double>? AdvisedBuckets(Instrument instrument) => instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToList(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToList(),
            _ => null,
        };
    }

    private sealed class Series(int buckets)
    {
        private readonly long[] _bucketCounts = new long[buckets];
        private readonly Lock _gate = new();
        private double _value;
        private long _count;

        public void Record(Family family, double value)
        {
            lock (_gate)
            {
                switch (family.Kind)
                {
                    case Kind.Histogram:
                        _value += value;
                        _count++;
                        for (var i = 0; i < family.Buckets.Length; i++)
                        {
                            if (value <= family.Buckets[i])
                            {
                                _bucketCounts[i]++;
                                break;
                            }
                        }

                        break;
                    default:
                        _value = family.Additive ? _value + value : value;
                        break;
                }
            }
        }

        public void Render(StringBuilder sb, Family family, string labels)
        {
            lock (_gate)
            {
                if (family.Kind != Kind.Histogram)
                {
                    Line(sb, family.Name, labels, null, _value);
                    return;
                }

                long cumulative = 0;
                for (var i = 0; i < family.Buckets.Length; i++)
                {
                    cumulative += _bucketCounts[i];
                    Line(sb, family.Name + "_bucket", labels, Format(family.Buckets[i]), cumulative);
                }

                Line(sb, family.Name + "_bucket", labels, "+Inf", _count);
                Line(sb, family.Name + "_sum", labels, null, _value);
                Line(sb, family.Name + "_count", labels, null, _count);
            }
        }

        private static void Line(StringBuilder sb, string name, string labels, string? le, double value)
        {
            sb.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                sb.Append('{').Append(labels);
                if (le is not null)
                {
                    sb.Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
                }

                sb.Append('}');
            }

            sb.Append(' ').Append(Format(value)).Append('\n');
        }
    }
}
