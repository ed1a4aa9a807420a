// Over 500 lines on purpose: one job, a loaded ONNX session and the per-caller buffers that make Infer allocation-free
// (input tensor over a reused buffer, pre-allocated outputs, scratch sets rented per concurrent caller, reference-counted
// lifetime for hot-swap). Profiles (pre/post-processing per model family) already live in Models/Profiles.
using System.Diagnostics;
using System.Text.RegularExpressions;
using Inference.Models.Profiles;
using Inference.Processing;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace Inference.Models;

/// <summary>Execution settings for every session: env <c>Inference__*</c>.</summary>
/// <param name="ExecutionProvider">cpu, cuda, tensorrt or openvino.</param>
/// <param name="IntraOpThreads">ONNX Runtime intra-op threads (0 = ORT default).</param>
internal readonly record struct SessionConfig(string ExecutionProvider, int IntraOpThreads);

/// <summary>
/// One validated, warmed-up model: the long-lived <see cref="InferenceSession"/>, its preprocessor, the input tensor over a
/// reused buffer, pre-allocated output tensors (when the output shapes are fixed) and the profile's post-processor.
/// <see cref="Infer"/> may be called concurrently (one buffer set per concurrent caller); lifetime is reference-counted so a hot-swap never disposes a
/// model that a frame is still using.
/// </summary>
internal sealed partial class LoadedModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly IPostProcessor _post;
    private readonly Func<Preprocessor> _newPreprocessor;
    private readonly TensorElementType _inputType;
    private readonly long[] _inputShape;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly List<ModelOutput> _outputTemplate;
    private readonly bool _fixedFloatOutputs;
    private readonly Lock _poolLock = new();
    private readonly Stack<Scratch> _pool = new();
    private readonly List<Scratch> _allScratch = [];
    private readonly Scratch _first;
    private int _refs = 1;
    private int _disposed;

    private LoadedModel(ModelSettings settings, string path, string sha256, InferenceSession session, Func<Preprocessor> newPreprocessor, IPostProcessor post,
        TensorElementType inputType, long[] inputShape, string inputName, List<ModelOutput> outputs, IReadOnlyList<string> labels, string provider, string? providerError)
    {
        Settings = settings;
        Path = path;
        Sha256 = sha256;
        _session = session;
        _newPreprocessor = newPreprocessor;
        _post = post;
        Labels = labels;
        Provider = provider;
        ProviderError = providerError;
        InputType = inputType;
        _inputType = inputType;
        _inputShape = inputShape;
        _inputNames = [inputName];
        _outputTemplate = outputs;
        _outputNames = [.. outputs.Select(o => o.Name)];
        _fixedFloatOutputs = outputs.All(o => o.Shape.All(d => d > 0))
            && outputs.All(o => session.OutputMetadata[o.Name].ElementDataType == TensorElementType.Float);
        _first = NewScratch();
        InputWidth = _first.Preprocessor.Width;
        InputHeight = _first.Preprocessor.Height;
        _pool.Push(_first);
    }

    public ModelSettings Settings { get; }

    public string Path { get; }

    public string Sha256 { get; }

    public IReadOnlyList<string> Labels { get; }

    public string Provider { get; }

    public string? ProviderError { get; }

    public TensorElementType InputType { get; }

    public int InputWidth { get; }

    public int InputHeight { get; }

    /// <summary>Per-call buffer sets created so far (one per concurrently inferring worker, at most).</summary>
    public int ScratchCount
    {
        get
        {
            lock (_poolLock)
            {
                return _allScratch.Count;
            }
        }
    }

    public float DefaultNmsIou => _post.DefaultNmsIou;

    /// <summary>The image input's name (tooling: calibration feeds the same tensor the module does).</summary>
    internal string InputName => _inputNames[0];

    /// <summary>The resolved image input shape, batch 1.</summary>
    internal long[] InputShape => _inputShape;

    /// <summary>A new preprocessor with this model's resolved input settings (tooling: calibration and comparison).</summary>
    internal Preprocessor CreatePreprocessor() => _newPreprocessor();

    /// <summary>Opens, validates and warms up a model; throws <see cref="ModelValidationException"/> with the reason when it cannot serve.</summary>
    public static LoadedModel Load(string path, string sha256, ModelSettings settings, IReadOnlyList<string>? labels, SessionConfig config)
    {
        using var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (config.IntraOpThreads > 0)
        {
            options.IntraOpNumThreads = config.IntraOpThreads;
        }

        var (provider, providerError) = AppendProvider(options, config.ExecutionProvider);
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelValidationException($"not a loadable ONNX model: {FirstLine(ex.Message)}");
        }

        try
        {
            return Create(session, path, sha256, settings, labels, provider, providerError);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Takes a reference for one frame; false when the model is already retired and disposed.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var r = Volatile.Read(ref _refs);
            if (r <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _refs, r + 1, r) == r)
            {
                return true;
            }
        }
    }

    /// <summary>Drops a reference; the last one disposes the native resources.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            DisposeCore();
        }
    }

    /// <summary>Retires the model (drops the owner's reference).</summary>
    public void Dispose() => Release();

    /// <summary>
    /// Preprocesses <paramref name="frame"/> (BGR) into a reused input tensor, runs the session and decodes the outputs into
    /// <paramref name="results"/> (NMS applied, thresholds not yet). Returns the time spent in <c>Session.Run</c>.
    /// Safe for concurrent calls: each call takes its own buffer set (preprocessor canvas, input/output tensors) from a small
    /// pool, one set per concurrent caller; <c>Session.Run</c> itself is thread-safe.
    /// </summary>
    public TimeSpan Infer(Mat frame, float minScore, float nmsIou, List<Detection> results)
    {
        var scratch = Rent();
        try
        {
            return InferWith(scratch, frame, minScore, nmsIou, results);
        }
        finally
        {
            lock (_poolLock)
            {
                _pool.Push(scratch);
            }
        }
    }

    private TimeSpan InferWith(Scratch s, Mat frame, float minScore, float nmsIou, List<Detection> results)
    {
        var transform = s.Preprocessor.Fit(frame);
        if (s.FloatInput is not null)
        {
            s.Preprocessor.Write(s.FloatInput);
        }
        else
        {
            s.Preprocessor.Write(s.ByteInput!);
        }

        var started = Stopwatch.GetTimestamp();
        if (s.OutputValues is not null)
        {
            _session.Run(s.RunOptions, _inputNames, [s.InputValue], _outputNames, s.OutputValues);
        }
        else
        {
            using var values = _session.Run(s.RunOptions, _inputNames, [s.InputValue], _outputNames);
            var i = 0;
            foreach (var v in values)
            {
                CopyOut(v, s.Outputs[i++]);
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        s.Detections.Clear();
        _post.Decode(s.Outputs, transform, new DecodeContext(minScore, nmsIou, Labels), s.Detections);
        results.AddRange(s.Detections);
        return elapsed;
    }

    private Scratch Rent()
    {
        lock (_poolLock)
        {
            if (_pool.TryPop(out var s))
            {
                return s;
            }

            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return NewScratch();
        }
    }

    /// <summary>A new buffer set, registered for disposal with the model. Called under <see cref="_poolLock"/> or from the constructor.</summary>
    private Scratch NewScratch()
    {
        var outputs = _outputTemplate.Select(o => new ModelOutput(o.Name, [.. o.Shape])).ToList();
        var s = new Scratch(_newPreprocessor(), _inputType, _inputShape, outputs, _fixedFloatOutputs);
        _allScratch.Add(s);
        return s;
    }

    private static LoadedModel Create(InferenceSession session, string path, string sha256, ModelSettings settings, IReadOnlyList<string>? labels, string provider, string? providerError)
    {
        if (session.InputMetadata.Count != 1)
        {
            throw new ModelValidationException($"expected one image input; the model has {session.InputMetadata.Count} ({string.Join(", ", session.InputMetadata.Keys)})");
        }

        var (inputName, meta) = session.InputMetadata.First();
        var dims = meta.Dimensions;
        if (!meta.IsTensor || dims.Length != 4)
        {
            throw new ModelValidationException($"expected a rank-4 image input; input '{inputName}' is [{string.Join(",", dims)}]");
        }

        if (meta.ElementDataType is not (TensorElementType.Float or TensorElementType.UInt8))
        {
            throw new ModelValidationException($"input '{inputName}' is {meta.ElementDataType}; only float and uint8 inputs are supported");
        }

        var layout = settings.Layout;
        if (layout == TensorLayout.Auto)
        {
            layout = dims[1] == 3 ? TensorLayout.Nchw : dims[3] == 3 ? TensorLayout.Nhwc
                : throw new ModelValidationException($"cannot tell the layout of input '{inputName}' [{string.Join(",", dims)}]: set model.layout to nchw or nhwc");
        }

        var (hIndex, wIndex, cIndex) = layout == TensorLayout.Nchw ? (2, 3, 1) : (1, 2, 3);
        if (dims[cIndex] > 0 && dims[cIndex] != 3)
        {
            throw new ModelValidationException($"input '{inputName}' [{string.Join(",", dims)}] has {dims[cIndex]} channels in {layout} layout; expected 3");
        }

        var width = Resolve("width", settings.InputWidth, dims[wIndex], inputName, dims);
        var height = Resolve("height", settings.InputHeight, dims[hIndex], inputName, dims);
        long[] shape = layout == TensorLayout.Nchw ? [1, 3, height, width] : [1, height, width, 3];

        var outputs = session.OutputMetadata.Select(o => new ModelOutput(o.Key, [.. o.Value.Dimensions.Select(d => (long)d)])).ToList();
        IPostProcessor post = settings.Profile switch
        {
            ModelProfile.Blazeface => new BlazeFacePostProcessor(),
            ModelProfile.Yolo => new YoloPostProcessor(settings.YoloLayout),
            ModelProfile.Ssd => new SsdPostProcessor(settings.BoxFormat, settings.ClassIdOffset),
            _ => new ClassificationPostProcessor(settings.TopK),
        };
        post.Validate(outputs, width, height);

        var (defMean, defStd, defResize, pad) = ProfileDefaults(settings.Profile);
        var colorOrder = settings.ColorOrder ?? ColorOrder.Rgb;
        var resize = settings.Resize ?? defResize;
        var mean = settings.Mean ?? defMean;
        var std = settings.Std ?? defStd;
        Preprocessor NewPreprocessor() => new(width, height, layout, colorOrder, resize, mean, std, pad);
        var resolvedLabels = labels is { Count: > 0 } ? labels : MetadataLabels(session) ?? post.DefaultLabels;
        var model = new LoadedModel(settings, path, sha256, session, NewPreprocessor, post, meta.ElementDataType, shape, inputName, outputs, resolvedLabels, provider, providerError);
        try
        {
            using var blank = new Mat(height, width, MatType.CV_8UC3, new Scalar(127, 127, 127));
            model.Infer(blank, 0.5f, post.DefaultNmsIou, []);
            foreach (var o in model._first.Outputs)
            {
                foreach (var v in o.Span)
                {
                    if (!float.IsFinite(v))
                    {
                        throw new ModelValidationException($"output {o} produced NaN or infinite values on the warm-up frame");
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            model.Dispose();
            throw new ModelValidationException($"warm-up inference failed: {FirstLine(ex.Message)}");
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return model;
    }

    private static (float[] Mean, float[] Std, ResizeMode Resize, byte Pad) ProfileDefaults(ModelProfile profile) => profile switch
    {
        // BlazeFace: RGB scaled to [-1, 1].
        ModelProfile.Blazeface => ([127.5f, 127.5f, 127.5f], [127.5f, 127.5f, 127.5f], ResizeMode.Letterbox, 0),
        // Ultralytics: RGB / 255, letterbox padded with grey 114.
        ModelProfile.Yolo => ([0f, 0f, 0f], [255f, 255f, 255f], ResizeMode.Letterbox, 114),
        // TF/MobileNet SSD float exports: [-1, 1]; stretched.
        ModelProfile.Ssd => ([127.5f, 127.5f, 127.5f], [127.5f, 127.5f, 127.5f], ResizeMode.Stretch, 0),
        // ImageNet normalisation.
        _ => ([123.675f, 116.28f, 103.53f], [58.395f, 57.12f, 57.375f], ResizeMode.Stretch, 0),
    };

    private static int Resolve(string what, int configured, int fromModel, string inputName, int[] dims)
    {
        if (fromModel > 0)
        {
            return configured == 0 || configured == fromModel
                ? fromModel
                : throw new ModelValidationException($"configured input {what} {configured} does not match the model's input '{inputName}' [{string.Join(",", dims)}]");
        }

        return configured > 0
            ? configured
            : throw new ModelValidationException($"input '{inputName}' has a dynamic {what} [{string.Join(",", dims)}]: set model.input{char.ToUpperInvariant(what[0])}{what[1..]}");
    }

    private static List<string>? MetadataLabels(InferenceSession session)
    {
        // Ultralytics exports carry "names": "{0: 'person', 1: 'bicycle', ...}".
        if (!session.ModelMetadata.CustomMetadataMap.TryGetValue("names", out var names))
        {
            return null;
        }

        var matches = NamesRegex().Matches(names);
        return matches.Count == 0 ? null : [.. matches.OrderBy(m => int.Parse(m.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture)).Select(m => m.Groups[2].Value)];
    }

    private static (string Provider, string? Error) AppendProvider(SessionOptions options, string provider)
    {
        var name = provider.Trim().ToLowerInvariant();
        if (name is "" or "cpu")
        {
            return ("cpu", null);
        }

        var available = OrtEnv.Instance().GetAvailableProviders();
        var wanted = name switch
        {
            "cuda" => "CUDAExecutionProvider",
            "tensorrt" => "TensorrtExecutionProvider",
            "openvino" => "OpenVINOExecutionProvider",
            _ => null,
        };
        if (wanted is null)
        {
            return ("cpu", $"unknown execution provider '{provider}' (cpu, cuda, tensorrt, openvino); using cpu");
        }

        if (!available.Contains(wanted))
        {
            return ("cpu", $"execution provider '{provider}' is not in this ONNX Runtime build (available: {string.Join(", ", available)}); using cpu");
        }

        try
        {
            switch (name)
            {
                case "cuda":
                    options.AppendExecutionProvider_CUDA(0);
                    break;
                case "tensorrt":
                    options.AppendExecutionProvider_Tensorrt(0);
                    break;
                default:
                    options.AppendExecutionProvider_OpenVINO();
                    break;
            }

            return (name, null);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            return ("cpu", $"execution provider '{provider}' failed to start ({FirstLine(ex.Message)}); using cpu");
        }
    }

    private static void CopyOut(OrtValue value, ModelOutput output)
    {
        var info = value.GetTensorTypeAndShape();
        output.Shape = info.Shape;
        var n = (int)info.ElementCount;
        if (output.Data.Length < n)
        {
            output.Data = new float[n];
        }

        output.Length = n;
        var dst = output.Data.AsSpan(0, n);
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                value.GetTensorDataAsSpan<float>().CopyTo(dst);
                break;
            case TensorElementType.Int64:
                Convert(value.GetTensorDataAsSpan<long>(), dst);
                break;
            case TensorElementType.Int32:
                Convert(value.GetTensorDataAsSpan<int>(), dst);
                break;
            case TensorElementType.UInt8:
                Convert(value.GetTensorDataAsSpan<byte>(), dst);
                break;
            case TensorElementType.Double:
                Convert(value.GetTensorDataAsSpan<double>(), dst);
                break;
            default:
                throw new InvalidOperationException($"output {output.Name} has unsupported element type {info.ElementDataType}");
        }
    }

    private static void Convert<T>(ReadOnlySpan<T> src, Span<float> dst)
        where T : System.Numerics.INumber<T>
    {
        for (var i = 0; i < src.Length; i++)
        {
            dst[i] = float.CreateTruncating(src[i]);
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    [GeneratedRegex(@"(\d+)\s*:\s*'([^']*)'")]
    private static partial Regex NamesRegex();

    private void DisposeCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_poolLock)
        {
            foreach (var scratch in _allScratch)
            {
                scratch.Dispose();
            }

            _allScratch.Clear();
            _pool.Clear();
        }

        _session.Dispose();
    }

    /// <summary>One caller's buffers: preprocessor canvas, input tensor over a reused buffer, output buffers (pre-bound tensors when fixed).</summary>
    private sealed class Scratch : IDisposable
    {
        public Scratch(Preprocessor preprocessor, TensorElementType inputType, long[] inputShape, List<ModelOutput> outputs, bool fixedFloatOutputs)
        {
            Preprocessor = preprocessor;
            Outputs = outputs;
            var elements = (int)inputShape.Aggregate(1L, (a, b) => a * b);
            if (inputType == TensorElementType.UInt8)
            {
                ByteInput = new byte[elements];
                InputValue = OrtValue.CreateTensorValueFromMemory(ByteInput, inputShape);
            }
            else
            {
                FloatInput = new float[elements];
                InputValue = OrtValue.CreateTensorValueFromMemory(FloatInput, inputShape);
            }

            if (fixedFloatOutputs)
            {
                OutputValues = new OrtValue[outputs.Count];
                for (var i = 0; i < outputs.Count; i++)
                {
                    outputs[i].Data = new float[(int)outputs[i].Shape.Aggregate(1L, (a, b) => a * b)];
                    outputs[i].Length = outputs[i].Data.Length;
                    OutputValues[i] = OrtValue.CreateTensorValueFromMemory(outputs[i].Data, outputs[i].Shape);
                }
            }
        }

        public Preprocessor Preprocessor { get; }

        public RunOptions RunOptions { get; } = new();

        public float[]? FloatInput { get; }

        public byte[]? ByteInput { get; }

        public OrtValue InputValue { get; }

        public List<ModelOutput> Outputs { get; }

        public OrtValue[]? OutputValues { get; }

        public List<Detection> Detections { get; } = [];

        public void Dispose()
        {
            InputValue.Dispose();
            if (OutputValues is not null)
            {
                foreach (var v in OutputValues)
                {
                    v.Dispose();
                }
            }

            RunOptions.Dispose();
            Preprocessor.Dispose();
        }
    }
}
