using System.Globalization;
using Edge.Models;
using Inference.Models;

namespace Edge.Cli.Commands.Model;

/// <summary>
/// <c>edge model inspect|quantize|fp16|compare</c>: look inside an ONNX model, make a smaller one (static INT8 in QDQ form,
/// calibrated through the Inference profile's own preprocessing, or float16 weights) and measure what it costs in detections
/// and latency before shipping it.
/// </summary>
internal sealed class ModelCommand : ICommand
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;

    public ModelCommand()
        : this(Console.Out, Console.Error)
    {
    }

    /// <summary>A command that writes to the given writers (tests run it in-process).</summary>
    public ModelCommand(TextWriter stdout, TextWriter stderr)
    {
        _out = stdout;
        _err = stderr;
    }

    public string Name => "model";

    private const string InspectUsage = "model inspect <model.onnx>";

    private const string QuantizeUsage =
        "model quantize <model.onnx> --calibrate <video|folder> [-o out.onnx] [--profile <name>]\n" +
        "  [--calibrator percentile|minmax|entropy] [--percentile <p>] [--per-channel] [--format qdq]\n" +
        "  [--activations uint8|int8]";

    private const string Fp16Usage = "model fp16 <model.onnx> [-o out.onnx]";

    private const string CompareUsage = "model compare <float.onnx> <small.onnx> --media <video> [--profile <name>]";

    public string Usage => InspectUsage + "\n" + QuantizeUsage + "\n" + Fp16Usage + "\n" + CompareUsage;

    public string Description => "inspect, quantize (INT8), halve (fp16) and compare ONNX models";

    public IReadOnlyList<Subcommand> Subcommands =>
    [
        new("inspect", "inputs, outputs, opset, operators, size, quantization, fitting profile", InspectUsage,
            ["edge model inspect face_detection_front_128x128_barracuda.onnx"]),
        new("quantize", "static INT8 (QDQ), calibrated through the profile's own preprocessing", QuantizeUsage,
            ["edge model quantize blazeface.onnx --calibrate Megamind.avi --per-channel -o blazeface.int8.onnx"]),
        new("fp16", "float16 weights (Cast back to float): about half the size", Fp16Usage,
            ["edge model fp16 blazeface.onnx -o blazeface.fp16.onnx"]),
        new("compare", "detection agreement, score error, latency and size of two models", CompareUsage,
            ["edge model compare blazeface.onnx blazeface.int8.onnx --media Megamind.avi"]),
    ];

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await _out.WriteLineAsync(HelpText).ConfigureAwait(false);
            return args.Length == 0 ? 2 : 0;
        }

        var rest = args[1..];
        if (rest.Any(a => a is "-h" or "--help"))
        {
            await _out.WriteLineAsync(HelpText).ConfigureAwait(false);
            return 0;
        }

        try
        {
            return args[0] switch
            {
                "inspect" => await InspectAsync(rest).ConfigureAwait(false),
                "quantize" => await QuantizeAsync(rest, ct).ConfigureAwait(false),
                "fp16" => await Fp16Async(rest).ConfigureAwait(false),
                "compare" => await CompareAsync(rest, ct).ConfigureAwait(false),
                _ => await UsageErrorAsync($"unknown subcommand '{args[0]}' (inspect, quantize, fp16, compare)").ConfigureAwait(false),
            };
        }
        catch (ModelArgumentException ex)
        {
            return await UsageErrorAsync(ex.Message).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await _err.WriteLineAsync($"edge model {args[0]}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private const string HelpText = """
        usage: edge model <subcommand> [options]

          inspect <model.onnx>
              Inputs and outputs (shapes, types), opset, operator histogram, size, whether the model is already quantized
              (QDQ, QOperator or float16) and which Inference profile serves it (each profile is tried the way the module
              loads a model: input checks, output checks, a warm-up frame).

          quantize <model.onnx> --calibrate <video|folder> [options]
              Static INT8 quantization in QDQ form. The float model runs on frames decoded from the media (a video file or a
              folder of images) through the profile's own preprocessing; activation ranges are collected there.
              --profile <name>          blazeface (default), yolo, ssd or classification: the preprocessing to calibrate with
              --calibrator <method>     percentile (default), minmax or entropy
              --percentile <p>          percentile calibrator: the range is ±the p-th percentile of |x| (default 99.99)
              --per-channel             one weight scale per output channel for Conv (axis 0)
              --format qdq              the only format written (QuantizeLinear/DequantizeLinear pairs; ONNX Runtime fuses them)
              --activations <type>      uint8 (default; U8S8, the pairing ONNX Runtime's x86 kernels favour) or int8 (S8S8)
              --frames <n>              calibration frames, spread evenly over the media (default 64)
              -o, --output <path>       default: <model>.int8.onnx next to the input

          fp16 <model.onnx> [-o out.onnx]
              Float16 weights: every float initializer is stored as float16 and cast back to float by a Cast node, so the
              graph's inputs, outputs and operators stay float (ONNX Runtime's CPU provider folds the casts at load).
              Default output: <model>.fp16.onnx.

          compare <float.onnx> <small.onnx> --media <video|folder> [options]
              Runs both models on the same frames through the module's preprocessing and post-processing and reports
              recall and precision of the small model's detections against the float model's (matched at IoU >= 0.5,
              same label), mean and max score error of matched pairs, per-frame latency (median, p95) and file sizes.
              --profile <name>          as above (default blazeface)
              --score <s>               detection threshold (default 0.5, the module's deployed thresholds.minScore)
              --iou <x>                 match threshold (default 0.5)
              --frames <n>              at most n frames (default: every frame of the media)

        Exit codes: 0 ok, 1 the model or media could not be read or processed, 2 usage error.
        """;

    private async Task<int> InspectAsync(string[] args)
    {
        var (positional, _) = ModelArguments.Parse(args, [], []);
        if (positional.Count != 1)
        {
            throw new ModelArgumentException("give one model: edge model inspect <model.onnx>");
        }

        var r = ModelInspector.Inspect(positional[0]);
        var w = _out;
        await w.WriteLineAsync($"model:        {r.Path}").ConfigureAwait(false);
        await w.WriteLineAsync($"size:         {Size(r.SizeBytes)} ({r.SizeBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes)").ConfigureAwait(false);
        await w.WriteLineAsync($"format:       IR {r.IrVersion}, opset {string.Join(", ", r.Opsets.Select(o => $"{o.Domain} {o.Version}"))}{(r.Producer.Length > 0 ? $", producer {r.Producer}" : string.Empty)}").ConfigureAwait(false);
        foreach (var i in r.Inputs)
        {
            await w.WriteLineAsync($"input:        {i}").ConfigureAwait(false);
        }

        foreach (var o in r.Outputs)
        {
            await w.WriteLineAsync($"output:       {o}").ConfigureAwait(false);
        }

        await w.WriteLineAsync($"weights:      {r.Initializers} initializers, {r.Parameters.ToString("N0", CultureInfo.InvariantCulture)} values ({string.Join(", ", r.InitializerBytesByType.Select(kv => $"{kv.Key} {Size(kv.Value)}"))})").ConfigureAwait(false);
        await w.WriteLineAsync($"quantized:    {r.Quantization switch { QuantizationForm.Qdq => "yes, QDQ (QuantizeLinear/DequantizeLinear)", QuantizationForm.QOperator => "yes, QOperator (integer operators)", QuantizationForm.Float16 => "float16", _ => "no (float32)" }}").ConfigureAwait(false);
        await w.WriteLineAsync($"operators:    {r.Operators.Sum(o => o.Count)} nodes").ConfigureAwait(false);
        foreach (var (op, count) in r.Operators)
        {
            await w.WriteLineAsync($"  {count,5}  {op}").ConfigureAwait(false);
        }

        var fits = r.Profiles.Where(p => p.Fits).Select(p => Profile(p.Profile)).ToList();
        await w.WriteLineAsync($"profile:      {(fits.Count > 0 ? string.Join(", ", fits) : "none of the built-in profiles")}").ConfigureAwait(false);
        foreach (var p in r.Profiles.Where(p => !p.Fits))
        {
            await w.WriteLineAsync($"  not {Profile(p.Profile)}: {p.Reason}").ConfigureAwait(false);
        }

        return 0;
    }

    private async Task<int> QuantizeAsync(string[] args, CancellationToken ct)
    {
        var (positional, options) = ModelArguments.Parse(args,
            ["--calibrate", "--profile", "--calibrator", "--percentile", "--format", "--frames", "--activations", "-o", "--output"], ["--per-channel"]);
        if (positional.Count != 1)
        {
            throw new ModelArgumentException("give one model: edge model quantize <model.onnx> --calibrate <video|folder>");
        }

        var media = options.GetValueOrDefault("--calibrate") ?? throw new ModelArgumentException("--calibrate <video|folder> is required: the frames that set the activation ranges");
        var format = options.GetValueOrDefault("--format") ?? "qdq";
        if (!string.Equals(format, "qdq", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelArgumentException($"--format {format}: only qdq is written (ONNX Runtime fuses QDQ into the same integer kernels QOperator names)");
        }

        var settings = new QuantizeSettings
        {
            Profile = ModelArguments.ParseProfile(options.GetValueOrDefault("--profile")),
            Calibrator = options.GetValueOrDefault("--calibrator")?.ToLowerInvariant() switch
            {
                null or "percentile" => CalibrationMethod.Percentile,
                "minmax" => CalibrationMethod.MinMax,
                "entropy" => CalibrationMethod.Entropy,
                var c => throw new ModelArgumentException($"--calibrator {c}: use minmax, percentile or entropy"),
            },
            Percentile = ModelArguments.ParseDouble(options, "--percentile", 99.99, 50, 100),
            PerChannel = options.ContainsKey("--per-channel"),
            UnsignedActivations = options.GetValueOrDefault("--activations")?.ToLowerInvariant() switch
            {
                null or "uint8" => true,
                "int8" => false,
                var a => throw new ModelArgumentException($"--activations {a}: use uint8 or int8"),
            },
            Frames = (int)ModelArguments.ParseDouble(options, "--frames", 64, 1, 100_000),
        };
        var input = positional[0];
        var output = options.GetValueOrDefault("-o") ?? options.GetValueOrDefault("--output") ?? Path.ChangeExtension(input, ".int8.onnx");
        var result = Quantizer.Quantize(input, media, output, settings, ct);
        await _out.WriteLineAsync($"calibrated on {result.CalibrationFrames} frames of {media} ({settings.Calibrator}{(settings.Calibrator == CalibrationMethod.Percentile ? $" {settings.Percentile.ToString(CultureInfo.InvariantCulture)}%" : string.Empty)}, profile {Profile(settings.Profile)})").ConfigureAwait(false);
        await _out.WriteLineAsync($"quantized {result.QuantizedNodes} of {result.TotalNodes} nodes ({string.Join(", ", result.QuantizedOps.Select(kv => $"{kv.Key} {kv.Value}"))}); left float: {(result.FloatOps.Count == 0 ? "none" : string.Join(", ", result.FloatOps.Select(kv => $"{kv.Key} {kv.Value}")))}").ConfigureAwait(false);
        await _out.WriteLineAsync($"weights int8 {(settings.PerChannel ? "per-channel (Conv axis 0)" : "per-tensor")}, activations {(settings.UnsignedActivations ? "uint8" : "int8")} asymmetric, biases int32; {result.FloatOutputs} output-head tensors left float").ConfigureAwait(false);
        await _out.WriteLineAsync($"wrote {output}: {Size(result.OutputBytes)} ({(double)result.OutputBytes / result.InputBytes:0.000}x of {Size(result.InputBytes)}); it loads with profile {Profile(settings.Profile)}").ConfigureAwait(false);
        return 0;
    }

    private async Task<int> Fp16Async(string[] args)
    {
        var (positional, options) = ModelArguments.Parse(args, ["-o", "--output"], []);
        if (positional.Count != 1)
        {
            throw new ModelArgumentException("give one model: edge model fp16 <model.onnx> [-o out.onnx]");
        }

        var input = positional[0];
        var output = options.GetValueOrDefault("-o") ?? options.GetValueOrDefault("--output") ?? Path.ChangeExtension(input, ".fp16.onnx");
        var converted = Float16Converter.Convert(input, output);
        await _out.WriteLineAsync($"wrote {output}: {converted} initializers as float16, {Size(new FileInfo(output).Length)} ({(double)new FileInfo(output).Length / new FileInfo(input).Length:0.00}x of {Size(new FileInfo(input).Length)})").ConfigureAwait(false);
        return 0;
    }

    private async Task<int> CompareAsync(string[] args, CancellationToken ct)
    {
        var (positional, options) = ModelArguments.Parse(args, ["--media", "--profile", "--score", "--iou", "--frames"], []);
        if (positional.Count != 2)
        {
            throw new ModelArgumentException("give two models: edge model compare <float.onnx> <small.onnx> --media <video|folder>");
        }

        var media = options.GetValueOrDefault("--media") ?? throw new ModelArgumentException("--media <video|folder> is required: the frames both models run on");
        var settings = new CompareSettings
        {
            Profile = ModelArguments.ParseProfile(options.GetValueOrDefault("--profile")),
            MinScore = (float)ModelArguments.ParseDouble(options, "--score", 0.5, 0, 1),
            MatchIou = (float)ModelArguments.ParseDouble(options, "--iou", 0.5, 0.01, 1),
            MaxFrames = (int)ModelArguments.ParseDouble(options, "--frames", int.MaxValue, 1, int.MaxValue),
        };
        var r = ModelComparer.Compare(positional[0], positional[1], media, settings, ct);
        var w = _out;
        await w.WriteLineAsync($"{r.Frames} frames of {media}, profile {Profile(settings.Profile)}, score >= {settings.MinScore.ToString(CultureInfo.InvariantCulture)}, match IoU >= {settings.MatchIou.ToString(CultureInfo.InvariantCulture)}").ConfigureAwait(false);
        await w.WriteLineAsync($"detections:   reference {r.ReferenceDetections}, candidate {r.CandidateDetections}, matched {r.Matched}").ConfigureAwait(false);
        await w.WriteLineAsync($"recall:       {r.Recall:0.0000}   (reference detections the candidate also found)").ConfigureAwait(false);
        await w.WriteLineAsync($"precision:    {r.Precision:0.0000}   (candidate detections the reference also has)").ConfigureAwait(false);
        await w.WriteLineAsync($"score error:  mean {r.MeanScoreError:0.0000}, max {r.MaxScoreError:0.0000}; mean IoU of matches {r.MeanIou:0.000}").ConfigureAwait(false);
        await w.WriteLineAsync($"latency/frame (preprocess + run + decode), median / p95 ms:").ConfigureAwait(false);
        await w.WriteLineAsync($"  reference   {r.Reference.MedianMs,7:0.000} / {r.Reference.P95Ms,7:0.000}   (run only {r.Reference.RunMedianMs:0.000} / {r.Reference.RunP95Ms:0.000})   {Size(r.Reference.Bytes)}  {Path.GetFileName(positional[0])}").ConfigureAwait(false);
        await w.WriteLineAsync($"  candidate   {r.Candidate.MedianMs,7:0.000} / {r.Candidate.P95Ms,7:0.000}   (run only {r.Candidate.RunMedianMs:0.000} / {r.Candidate.RunP95Ms:0.000})   {Size(r.Candidate.Bytes)} ({(double)r.Candidate.Bytes / r.Reference.Bytes:0.00}x)  {Path.GetFileName(positional[1])}").ConfigureAwait(false);
        await w.WriteLineAsync($"  candidate/reference median latency {r.Candidate.MedianMs / r.Reference.MedianMs:0.00}x (one run, interleaved frame by frame; noisy on a shared machine)").ConfigureAwait(false);
        return 0;
    }

    private static string Profile(ModelProfile p) => p.ToString().ToLowerInvariant();

    private static string Size(long bytes) => bytes >= 1024 * 1024
        ? $"{bytes / 1024.0 / 1024.0:0.00} MiB"
        : $"{bytes / 1024.0:0.0} KiB";

    private async Task<int> UsageErrorAsync(string message)
    {
        await _err.WriteLineAsync($"edge model: {message}\n(edge model --help lists the subcommands and options)").ConfigureAwait(false);
        return 2;
    }
}
