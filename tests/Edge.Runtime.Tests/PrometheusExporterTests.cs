using System.Diagnostics.Metrics;
using Edge.Runtime.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Edge.Runtime.Tests;

public sealed class PrometheusExporterTests : IDisposable
{
    private const string Labels = "iothub=\"hub.example\",edge_device=\"dev\\\"1\",instance_number=\"00000000-0000-0000-0000-000000000001\",module_name=\"Inference\"";
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly PrometheusExporter _exporter;
    private readonly Meter _meter;

    public PrometheusExporterTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        _exporter = new PrometheusExporter(new MetricLabels("hub.example", "dev\"1", "00000000-0000-0000-0000-000000000001", "Inference"), factory);
        _meter = factory.Create("Edge.Test");
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _services.Dispose();
    }

    [Fact]
    public void Render_MsHistogram_SecondsBucketsSumAndCountWithHelpAndType()
    {
        var latency = _meter.CreateHistogram<double>("inference.latency", "ms", "Time per frame");
        latency.Record(3, new KeyValuePair<string, object?>("model", "face"));
        latency.Record(40, new KeyValuePair<string, object?>("model", "face"));
        latency.Record(20000, new KeyValuePair<string, object?>("model", "face"));

        var text = _exporter.Render();

        text.ShouldContain("# HELP inference_latency_seconds Time per frame\n# TYPE inference_latency_seconds histogram\n");
        var l = Labels + ",model=\"face\"";
        text.ShouldContain($"inference_latency_seconds_bucket{{{l},le=\"0.005\"}} 1\n");
        text.ShouldContain($"inference_latency_seconds_bucket{{{l},le=\"0.025\"}} 1\n");
        text.ShouldContain($"inference_latency_seconds_bucket{{{l},le=\"0.05\"}} 2\n");
        text.ShouldContain($"inference_latency_seconds_bucket{{{l},le=\"10\"}} 2\n");
        text.ShouldContain($"inference_latency_seconds_bucket{{{l},le=\"+Inf\"}} 3\n");
        text.ShouldContain($"inference_latency_seconds_sum{{{l}}} 20.043\n");
        text.ShouldContain($"inference_latency_seconds_count{{{l}}} 3\n");
    }

    [Fact]
    public void Render_CounterWithoutTotal_NamedTotalAndSummedPerLabelSet()
    {
        var frames = _meter.CreateCounter<long>("inference.frames", description: "Frames by outcome");
        frames.Add(2, new KeyValuePair<string, object?>("outcome", "processed"));
        frames.Add(3, new KeyValuePair<string, object?>("outcome", "processed"));
        frames.Add(1, new KeyValuePair<string, object?>("outcome", "dropped"));

        var text = _exporter.Render();

        text.ShouldContain("# HELP inference_frames_total Frames by outcome\n# TYPE inference_frames_total counter\n");
        text.ShouldContain($"inference_frames_total{{{Labels},outcome=\"dropped\"}} 1\ninference_frames_total{{{Labels},outcome=\"processed\"}} 5\n");
        text.ShouldNotContain("inference_frames{");
    }

    [Fact]
    public void Render_ObservableAndUpDown_GaugesWithCurrentValue()
    {
        var depth = 7L;
        _meter.CreateObservableGauge("edge_outbox_depth", () => depth, description: "Messages waiting");
        _meter.CreateObservableCounter("edge_bytes_read", () => 4096L, "By", "Bytes read");
        var inFlight = _meter.CreateUpDownCounter<int>("edge.in_flight", description: "In flight\nnow");
        inFlight.Add(3);
        inFlight.Add(-1);

        _exporter.Render().ShouldContain($"edge_outbox_depth{{{Labels}}} 7\n");
        depth = 2;
        var text = _exporter.Render();

        text.ShouldContain($"# TYPE edge_outbox_depth gauge\nedge_outbox_depth{{{Labels}}} 2\n");
        text.ShouldContain($"# TYPE edge_bytes_read_bytes_total counter\nedge_bytes_read_bytes_total{{{Labels}}} 4096\n");
        text.ShouldContain($"# HELP edge_in_flight In flight\\nnow\n# TYPE edge_in_flight gauge\nedge_in_flight{{{Labels}}} 2\n");
    }

    [Fact]
    public void Render_MeterOutsideEdgePrefixOrOtherFactory_NotExported()
    {
        using var foreign = new Meter("Edge.Test");
        foreign.CreateCounter<long>("foreign_total").Add(1);
        using var other = new Meter("Other.Test", null, null, _meter.Scope);
        other.CreateCounter<long>("other_total").Add(1);

        var text = _exporter.Render();

        text.ShouldNotContain("foreign_total");
        text.ShouldNotContain("other_total");
    }

    [Fact]
    public void FromConfiguration_IotEdgeVariables_LabelsFromEnvironment()
    {
        var c = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["IOTEDGE_IOTHUBHOSTNAME"] = "myhub.azure-devices.net",
            ["IOTEDGE_DEVICEID"] = "cam-edge-01",
            ["IOTEDGE_MODULEID"] = "CameraCapture",
        }).Build();
        var id = Guid.NewGuid();

        MetricLabels.FromConfiguration(c, id).ShouldBe(new MetricLabels("myhub.azure-devices.net", "cam-edge-01", id.ToString("D"), "CameraCapture"));
    }
}
