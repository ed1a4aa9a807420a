using System.Globalization;
using System.Text.Json;
using Edge.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadGen;

/// <summary>
/// Sends <c>{source, seq, bootId, createdAt, pad}</c> to the output. The next sequence number is persisted in the state folder
/// after each accepted send, so a restart (even after kill -9) continues without a gap; at worst the last one is sent twice.
/// </summary>
internal sealed partial class LoadGenService(IModuleClient client, IOptions<LoadGenOptions> options, IOptions<EdgeModuleOptions> module, IHostApplicationLifetime lifetime, TimeProvider time, LoadGenState state, ILogger<LoadGenService> logger) : BackgroundService
{
    private readonly LoadGenOptions _options = options.Value;
    private readonly string _bootId = Guid.NewGuid().ToString("N");

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Mode == LoadGenMode.Relay)
        {
            client.SetInputHandler(_options.Input, async (args, ct) =>
            {
                var result = await client.SendAsync(_options.Output, args.Message with { SystemProperties = new Dictionary<string, string>() }, ct).ConfigureAwait(false);
                if (!result.IsAccepted)
                {
                    throw new InvalidOperationException($"outbox refused the relayed message: {result.Status}");
                }
            });
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.Mode != LoadGenMode.Send)
        {
            return;
        }

        // The default source is the module id: known once the host has started (the client resolved its settings in its
        // StartedAsync, or stopped the host on a configuration error). ExecuteAsync runs before that, inside StartAsync.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
        }

        var source = _options.Source ?? client.Identity.ModuleId;
        if (string.IsNullOrEmpty(source))
        {
            return;
        }

        state.Source = source;
        Directory.CreateDirectory(module.Value.StateDirectory);
        var seqFile = Path.Combine(module.Value.StateDirectory, $"loadgen-{source}.seq");
        var seq = File.Exists(seqFile) ? long.Parse(await File.ReadAllTextAsync(seqFile, stoppingToken).ConfigureAwait(false), CultureInfo.InvariantCulture) : 1;
        var pad = new string('x', _options.PayloadBytes);
        var start = time.GetTimestamp();
        long sentThisBoot = 0;
        LogStarting(logger, source, seq, _options.Rate);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10), time);
        while (!stoppingToken.IsCancellationRequested && (_options.Count == 0 || seq <= _options.Count))
        {
            var due = _options.Rate <= 0 ? sentThisBoot + 100 : (long)(time.GetElapsedTime(start).TotalSeconds * _options.Rate) + 1;
            while (sentThisBoot < due && (_options.Count == 0 || seq <= _options.Count))
            {
                var body = JsonSerializer.SerializeToUtf8Bytes(new LoadGenMessage(source, seq, _bootId, time.GetUtcNow(), pad), LoadGenJson.Default.LoadGenMessage);
                var result = await client.SendAsync(_options.Output, new EdgeMessage
                {
                    Body = body,
                    ContentType = "application/json",
                    ContentEncoding = "utf-8",
                    MessageId = $"{source}-{seq}",
                    Properties = Properties(source, seq),
                }, stoppingToken).ConfigureAwait(false);
                if (!result.IsAccepted)
                {
                    LogRejected(logger, seq, result.Status.ToString());
                    break;
                }

                seq++;
                sentThisBoot++;
                state.CountSent();
                // Atomic replace: a kill -9 between truncate and write must not leave an empty file.
                await File.WriteAllTextAsync(seqFile + ".tmp", seq.ToString(CultureInfo.InvariantCulture), stoppingToken).ConfigureAwait(false);
                File.Move(seqFile + ".tmp", seqFile, overwrite: true);
            }

            if (!await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                break;
            }
        }

        LogDone(logger, source, seq - 1);
    }

    private Dictionary<string, string> Properties(string source, long seq)
    {
        var properties = new Dictionary<string, string>(state.Properties, StringComparer.Ordinal);
        properties["source"] = source;
        properties["seq"] = seq.ToString(CultureInfo.InvariantCulture);
        return properties;
    }

    [LoggerMessage(9000, LogLevel.Information, "LoadGen {Source} starting at seq {Seq}, {Rate} msg/s")]
    private static partial void LogStarting(ILogger logger, string source, long seq, double rate);

    [LoggerMessage(9001, LogLevel.Warning, "Seq {Seq} not accepted: {Status}; retrying")]
    private static partial void LogRejected(ILogger logger, long seq, string status);

    [LoggerMessage(9002, LogLevel.Information, "LoadGen {Source} sent up to seq {Seq}")]
    private static partial void LogDone(ILogger logger, string source, long seq);
}

internal sealed record LoadGenMessage(string Source, long Seq, string BootId, DateTimeOffset CreatedAt, string Pad);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(LoadGenMessage))]
internal sealed partial class LoadGenJson : System.Text.Json.Serialization.JsonSerializerContext;
