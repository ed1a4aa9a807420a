using Inference.Models;
using Inference.Processing;
using OpenCvSharp;

namespace Inference.Tests;

public sealed class PostProcessingTests : IDisposable
{
    private static readonly SessionConfig Cpu = new("cpu", 1);
    private readonly string _dir = Directory.CreateTempSubdirectory("inference-pp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Three candidates in a 64x64 input: a box (class 1, 0.9 x 0.8 = 0.72), a near-duplicate (0.8 x 0.7 = 0.56) and a weak one (0.27).
    internal static float[] YoloV5Rows(int rows)
    {
        var v = new float[rows * 7];
        float[][] r =
        [
            [32, 32, 32, 16, 0.9f, 0.2f, 0.8f],
            [33, 32, 32, 16, 0.8f, 0.1f, 0.7f],
            [10, 10, 8, 8, 0.3f, 0.9f, 0.1f],
        ];
        for (var i = 0; i < r.Length; i++)
        {
            r[i].CopyTo(v, i * 7);
        }

        return v;
    }

    internal static byte[] YoloV5Model(int rows = 8) =>
        TinyModels.Constant([1, 3, 64, 64], TinyModels.Float, ("output0", [1, rows, 7], YoloV5Rows(rows)));

    private LoadedModel Load(byte[] onnx, ModelSettings settings, IReadOnlyList<string>? labels = null)
    {
        var path = TinyModels.Write(onnx, _dir, Guid.NewGuid().ToString("N") + ".onnx");
        settings.Url = path;
        return LoadedModel.Load(path, "sha", settings, labels, Cpu);
    }

    private static List<Detection> Run(LoadedModel model, Mat frame, ThresholdSettings? thresholds = null)
    {
        thresholds ??= new ThresholdSettings();
        var raw = new List<Detection>();
        model.Infer(frame, DetectionFilter.LowestMinScore(thresholds), (float?)thresholds.NmsIou ?? model.DefaultNmsIou, raw);
        return DetectionFilter.Apply(raw, thresholds);
    }

    private static void ShouldBeBox(NormalizedBox b, float x, float y, float w, float h)
    {
        b.X.ShouldBe(x, 1e-4f);
        b.Y.ShouldBe(y, 1e-4f);
        b.W.ShouldBe(w, 1e-4f);
        b.H.ShouldBe(h, 1e-4f);
    }

    [Fact]
    public void Infer_YoloV5Layout_DecodesScoresNmsAndLetterbox()
    {
        using var model = Load(YoloV5Model(), new ModelSettings { Profile = ModelProfile.Yolo }, ["cat", "dog"]);
        using var frame = new Mat(64, 128, MatType.CV_8UC3, Scalar.All(50));

        var d = Run(model, frame).ShouldHaveSingleItem();

        // Letterbox 128x64 -> 64x64: scale 0.5, pad y 16. Box (16..48, 24..40) in input pixels -> (32..96, 16..48) in the frame.
        d.Label.ShouldBe("dog");
        d.Score.ShouldBe(0.72f, 1e-5f);
        ShouldBeBox(d.Box, 0.25f, 0.25f, 0.5f, 0.5f);
    }

    [Fact]
    public void Infer_YoloV8Layout_DecodesTransposedOutputWithoutObjectness()
    {
        // [1, 4+2, 8]: value v of box i at v*8 + i.
        float[][] boxes = [[32, 32, 32, 16, 0.2f, 0.8f], [33, 32, 32, 16, 0.1f, 0.7f], [10, 10, 8, 8, 0.3f, 0.1f]];
        var values = new float[6 * 8];
        for (var i = 0; i < boxes.Length; i++)
        {
            for (var v = 0; v < 6; v++)
            {
                values[(v * 8) + i] = boxes[i][v];
            }
        }

        using var model = Load(TinyModels.Constant([1, 3, 64, 64], TinyModels.Float, ("output0", [1, 6, 8], values)),
            new ModelSettings { Profile = ModelProfile.Yolo }, ["cat", "dog"]);
        using var frame = new Mat(64, 128, MatType.CV_8UC3, Scalar.All(50));

        var d = Run(model, frame).ShouldHaveSingleItem();

        d.Label.ShouldBe("dog");
        d.Score.ShouldBe(0.8f, 1e-5f);
        ShouldBeBox(d.Box, 0.25f, 0.25f, 0.5f, 0.5f);
    }

    [Fact]
    public void Infer_YoloNmsIouRaised_KeepsTheOverlappingBox()
    {
        using var model = Load(YoloV5Model(), new ModelSettings { Profile = ModelProfile.Yolo }, ["cat", "dog"]);
        using var frame = new Mat(64, 64, MatType.CV_8UC3, Scalar.All(50));

        var kept = Run(model, frame, new ThresholdSettings { NmsIou = 0.99 });

        kept.Select(k => k.Score).ShouldBe([0.72f, 0.56f], tolerance: 1e-5);
    }

    [Fact]
    public void Infer_SsdUInt8Model_HonoursCountFormatAndClassOffset()
    {
        float[] boxes = [0.1f, 0.2f, 0.5f, 0.6f, 0.0f, 0.0f, 0.1f, 0.1f, 0.6f, 0.6f, 0.9f, 0.9f, 0.0f, 0.0f, 1.0f, 1.0f];
        float[] classes = [3, 1, 2, 1];
        float[] scores = [0.9f, 0.4f, 0.95f, 0.99f];
        var onnx = TinyModels.Constant([1, 32, 32, 3], TinyModels.UInt8,
            ("detection_boxes", [1, 4, 4], boxes), ("detection_classes", [1, 4], classes), ("detection_scores", [1, 4], scores), ("num_detections", [1], [3f]));
        using var model = Load(onnx, new ModelSettings { Profile = ModelProfile.Ssd, ClassIdOffset = -1 }, ["person", "car", "dog"]);
        using var frame = new Mat(50, 100, MatType.CV_8UC3, Scalar.All(50));

        model.InputType.ShouldBe(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt8);
        var kept = Run(model, frame);

        // The 4th box (0.99) is beyond num_detections; the 0.4 one is under minScore.
        kept.Count.ShouldBe(2);
        kept[0].Label.ShouldBe("car");
        kept[0].Score.ShouldBe(0.95f);
        ShouldBeBox(kept[0].Box, 0.6f, 0.6f, 0.3f, 0.3f);
        kept[1].Label.ShouldBe("dog");
        ShouldBeBox(kept[1].Box, 0.2f, 0.1f, 0.4f, 0.4f);
    }

    [Theory]
    [InlineData(TinyModels.Float)]
    [InlineData(TinyModels.UInt8)]
    public void Infer_ClassifierOnRedFrame_SoftmaxTopKMatchesHandComputation(int inputType)
    {
        var settings = new ModelSettings { Profile = ModelProfile.Classification, Mean = [0, 0, 0], Std = [1, 1, 1], TopK = 2 };
        using var model = Load(TinyModels.Classifier(inputType, 0.002f), settings, ["red", "green", "blue"]);
        using var frame = new Mat(10, 10, MatType.CV_8UC3, new Scalar(0, 100, 255)); // BGR: r=255, g=100, b=0

        var kept = Run(model, frame, new ThresholdSettings { MinScore = 0.1 });

        // logits = 4 pixels x value x 0.002: r = 2.04, g = 0.8, b = 0.
        var e = new[] { Math.Exp(2.04), Math.Exp(0.8), 1.0 };
        var sum = e.Sum();
        kept.Count.ShouldBe(2);
        kept[0].Label.ShouldBe("red");
        kept[0].Score.ShouldBe((float)(e[0] / sum), 1e-4f);
        kept[1].Label.ShouldBe("green");
        kept[1].Score.ShouldBe((float)(e[1] / sum), 1e-4f);
        ShouldBeBox(kept[0].Box, 0, 0, 1, 1);
    }

    [Fact]
    public void Infer_BgrColorOrderSetting_SwapsChannels()
    {
        var settings = new ModelSettings { Profile = ModelProfile.Classification, Mean = [0, 0, 0], Std = [1, 1, 1], TopK = 1, ColorOrder = ColorOrder.Bgr };
        using var model = Load(TinyModels.Classifier(TinyModels.Float, 0.01f), settings, ["c0", "c1", "c2"]);
        using var frame = new Mat(10, 10, MatType.CV_8UC3, new Scalar(255, 0, 0)); // pure blue

        Run(model, frame).ShouldHaveSingleItem().Label.ShouldBe("c0"); // channel 0 is B in BGR order
    }

    [Fact]
    public void Thresholds_PerClassAllowListAndArea_FilterDetections()
    {
        using var model = Load(YoloV5Model(), new ModelSettings { Profile = ModelProfile.Yolo }, ["cat", "dog"]);
        using var frame = new Mat(64, 128, MatType.CV_8UC3, Scalar.All(50));

        Run(model, frame, new ThresholdSettings { PerClass = new() { ["dog"] = 0.8 } }).ShouldBeEmpty();
        Run(model, frame, new ThresholdSettings { AllowList = ["cat"] }).ShouldBeEmpty();
        Run(model, frame, new ThresholdSettings { MaxBoxArea = 0.2 }).ShouldBeEmpty();
        Run(model, frame, new ThresholdSettings { MinScore = 0.2, MaxDetections = 1, NmsIou = 0.99 }).ShouldHaveSingleItem().Score.ShouldBe(0.72f, 1e-5f);
    }

    [Fact]
    public void Load_UltralyticsNamesMetadata_GivesTheLabels()
    {
        var onnx = TinyModels.WithMetadata(YoloV5Model(), "names", "{0: 'helmet', 1: 'no helmet'}");
        using var model = Load(onnx, new ModelSettings { Profile = ModelProfile.Yolo });
        using var frame = new Mat(64, 64, MatType.CV_8UC3, Scalar.All(50));

        model.Labels.ShouldBe(["helmet", "no helmet"]);
        Run(model, frame).ShouldHaveSingleItem().Label.ShouldBe("no helmet");
    }

    [Fact]
    public void Load_BlazefaceProfileOnYoloModel_FailsWithTheShapes()
    {
        var ex = Should.Throw<ModelValidationException>(() => Load(YoloV5Model(), new ModelSettings { Profile = ModelProfile.Blazeface }));
        ex.Message.ShouldContain("blazeface profile needs");
        ex.Message.ShouldContain("output0[1,8,7]");
    }

    [Fact]
    public void Load_ConfiguredSizeDiffersFromModel_FailsWithTheReason()
    {
        var ex = Should.Throw<ModelValidationException>(() => Load(YoloV5Model(), new ModelSettings { Profile = ModelProfile.Yolo, InputWidth = 128 }));
        ex.Message.ShouldContain("configured input width 128 does not match");
    }

    [Fact]
    public void Load_NotOnnx_FailsWithTheReason()
    {
        var ex = Should.Throw<ModelValidationException>(() => Load("this is not a model"u8.ToArray(), new ModelSettings { Profile = ModelProfile.Yolo }));
        ex.Message.ShouldStartWith("not a loadable ONNX model");
    }

    [Fact]
    public void Load_UnavailableExecutionProvider_FallsBackToCpuWithAnError()
    {
        var path = TinyModels.Write(YoloV5Model(), _dir, "p.onnx");
        using var model = LoadedModel.Load(path, "sha", new ModelSettings { Url = path, Profile = ModelProfile.Yolo }, null, new SessionConfig("cuda", 1));
        model.Provider.ShouldBe("cpu");
        model.ProviderError!.ShouldContain("'cuda' is not in this ONNX Runtime build");
        model.Labels.Count.ShouldBe(80); // COCO names by default
    }
}
