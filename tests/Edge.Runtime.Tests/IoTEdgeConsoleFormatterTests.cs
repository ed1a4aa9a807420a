using System.Text.RegularExpressions;
using Edge.Runtime.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Runtime.Tests;

public sealed partial class IoTEdgeConsoleFormatterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2024, 1, 1, 12, 0, 0, 123, TimeSpan.Zero));

    [Theory]
    [InlineData(LogLevel.Critical, "<2>", "FTL")]
    [InlineData(LogLevel.Error, "<3>", "ERR")]
    [InlineData(LogLevel.Warning, "<4>", "WRN")]
    [InlineData(LogLevel.Information, "<6>", "INF")]
    [InlineData(LogLevel.Debug, "<7>", "DBG")]
    [InlineData(LogLevel.Trace, "<7>", "VRB")]
    public void Write_EachLevel_SyslogSeverityPrefixAndIoTEdgeLayout(LogLevel level, string severity, string abbreviation)
    {
        var text = Format(level, "Camera cam1 connected", null);

        text.ShouldBe($"{severity} 2024-01-01 12:00:00.123 +00:00 [{abbreviation}] [CaptureService] - Camera cam1 connected\n");
        IoTEdgeLogLine().IsMatch(text.TrimEnd('\n')).ShouldBeTrue();
    }

    [Fact]
    public void Write_WithException_EveryLineCarriesTheEntrysSeverity()
    {
        InvalidOperationException ex;
        try
        {
            throw new InvalidOperationException("boom\nsecond line");
        }
        catch (InvalidOperationException e)
        {
            ex = e;
        }

        var lines = Format(LogLevel.Error, "Publish failed", ex).TrimEnd('\n').Split('\n');

        lines.Length.ShouldBeGreaterThan(3);
        lines.ShouldAllBe(l => l.StartsWith("<3> 2024-01-01 12:00:00.123 +00:00 [ERR] [CaptureService] - ", StringComparison.Ordinal));
        lines[1].ShouldEndWith("System.InvalidOperationException: boom");
        lines.ShouldContain(l => l.Contains(nameof(Write_WithException_EveryLineCarriesTheEntrysSeverity), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData(null, "CameraCapture", true)]
    [InlineData("simple", "CameraCapture", false)]
    [InlineData("IoTEdge", null, true)]
    public void UseIoTEdgeLogFormat_SettingAndEnvironment_PicksFormat(string? setting, string? moduleId, bool expected)
    {
        var c = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["LogFormat"] = setting, ["IOTEDGE_MODULEID"] = moduleId }).Build();

        EdgeModuleServiceCollectionExtensions.UseIoTEdgeLogFormat(c).ShouldBe(expected);
    }

    [Fact]
    public void UseIoTEdgeLogFormat_Unknown_OneLineNamingTheChoices()
    {
        var c = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["LogFormat"] = "json" }).Build();

        var ex = Should.Throw<EdgeConfigurationException>(() => EdgeModuleServiceCollectionExtensions.UseIoTEdgeLogFormat(c));

        ex.Variable.ShouldBe("LogFormat");
        ex.Message.ShouldContain("'iotedge'");
    }

    [Fact]
    public void AddEdgeModule_UnderIoTEdgeRuntime_ConsoleUsesIoTEdgeFormatter()
    {
        var c = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["IOTEDGE_MODULEID"] = "CameraCapture", ["StateDirectory"] = Path.GetTempPath() }).Build();
        using var sp = new ServiceCollection().AddEdgeModule(c).BuildServiceProvider();

        sp.GetServices<Microsoft.Extensions.Logging.Console.ConsoleFormatter>().ShouldContain(f => f is IoTEdgeConsoleFormatter);
        sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>>().CurrentValue.FormatterName.ShouldBe("iotedge");
    }

    private string Format(LogLevel level, string message, Exception? exception)
    {
        using var writer = new StringWriter();
        var entry = new LogEntry<string>(level, "CameraCapture.CaptureService", new EventId(1), message, exception, (s, _) => s);
        new IoTEdgeConsoleFormatter(_time).Write(entry, null, writer);
        return writer.ToString();
    }

    // The shape edgeAgent's log parser reads: severity, timestamp with offset, then the text.
    [GeneratedRegex(@"^<([0-7])> \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} [+-]\d{2}:\d{2} .*$")]
    private static partial Regex IoTEdgeLogLine();
}
