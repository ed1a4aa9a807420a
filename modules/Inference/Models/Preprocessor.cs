using OpenCvSharp;

namespace Inference.Models;

/// <summary>Maps model-input pixel coordinates back to the frame (normalised 0–1).</summary>
internal readonly record struct InputTransform(float ScaleX, float ScaleY, float PadX, float PadY, int FrameWidth, int FrameHeight, int InputWidth, int InputHeight)
{
    /// <summary>Model-input x (pixels) to normalised frame x.</summary>
    public float X(float inputX) => (inputX - PadX) / ScaleX / FrameWidth;

    /// <summary>Model-input y (pixels) to normalised frame y.</summary>
    public float Y(float inputY) => (inputY - PadY) / ScaleY / FrameHeight;

    /// <summary>Model-input width (pixels) to normalised frame width.</summary>
    public float W(float inputW) => inputW / ScaleX / FrameWidth;

    /// <summary>Model-input height (pixels) to normalised frame height.</summary>
    public float H(float inputH) => inputH / ScaleY / FrameHeight;
}

/// <summary>
/// Fits a BGR frame into the model input (letterbox or stretch) and writes it into a reused tensor buffer
/// (float with per-channel mean/std, or raw uint8), NCHW or NHWC, RGB or BGR. One instance per loaded model; not thread-safe.
/// </summary>
internal sealed class Preprocessor : IDisposable
{
    private readonly Mat _canvas;
    private readonly int _width;
    private readonly int _height;
    private readonly bool _nchw;
    private readonly bool _swapRb;
    private readonly ResizeMode _resize;
    private readonly float[] _scale = new float[3];
    private readonly float[] _offset = new float[3];
    private readonly Scalar _pad;

    public Preprocessor(int width, int height, TensorLayout layout, ColorOrder order, ResizeMode resize, float[] mean, float[] std, byte padValue)
    {
        _width = width;
        _height = height;
        _nchw = layout == TensorLayout.Nchw;
        _swapRb = order == ColorOrder.Rgb;
        _resize = resize;
        _pad = new Scalar(padValue, padValue, padValue);
        _canvas = new Mat(height, width, MatType.CV_8UC3, _pad);
        for (var c = 0; c < 3; c++)
        {
            // Buffer channel c comes from source channel (RGB: 2-c). value = (p - mean) / std = p * s + o.
            _scale[c] = 1f / std[c];
            _offset[c] = -mean[c] / std[c];
        }
    }

    public int Width => _width;

    public int Height => _height;

    /// <summary>The letterboxed/stretched BGR image last fed to the model (for tests and debugging).</summary>
    public Mat Canvas => _canvas;

    /// <summary>Resizes <paramref name="frame"/> into the reused canvas and returns the coordinate transform.</summary>
    public InputTransform Fit(Mat frame)
    {
        if (_resize == ResizeMode.Stretch)
        {
            Cv2.Resize(frame, _canvas, new Size(_width, _height), 0, 0, InterpolationFlags.Linear);
            return new InputTransform((float)_width / frame.Width, (float)_height / frame.Height, 0, 0, frame.Width, frame.Height, _width, _height);
        }

        var scale = Math.Min((float)_width / frame.Width, (float)_height / frame.Height);
        var nw = Math.Clamp((int)MathF.Round(frame.Width * scale), 1, _width);
        var nh = Math.Clamp((int)MathF.Round(frame.Height * scale), 1, _height);
        var px = (_width - nw) / 2;
        var py = (_height - nh) / 2;
        if (nw != _width || nh != _height)
        {
            _canvas.SetTo(_pad);
        }

        using (var roi = new Mat(_canvas, new Rect(px, py, nw, nh)))
        {
            Cv2.Resize(frame, roi, new Size(nw, nh), 0, 0, InterpolationFlags.Linear);
        }

        return new InputTransform(scale, scale, px, py, frame.Width, frame.Height, _width, _height);
    }

    /// <summary>Writes the canvas into a float tensor buffer.</summary>
    public unsafe void Write(Span<float> dst)
    {
        var src = new ReadOnlySpan<byte>((void*)_canvas.DataPointer, _width * _height * 3);
        var plane = _width * _height;
        int c0 = _swapRb ? 2 : 0, c2 = _swapRb ? 0 : 2;
        float s0 = _scale[0], s1 = _scale[1], s2 = _scale[2], o0 = _offset[0], o1 = _offset[1], o2 = _offset[2];
        if (_nchw)
        {
            var r = dst[..plane];
            var g = dst.Slice(plane, plane);
            var b = dst.Slice(2 * plane, plane);
            for (int i = 0, p = 0; i < plane; i++, p += 3)
            {
                r[i] = (src[p + c0] * s0) + o0;
                g[i] = (src[p + 1] * s1) + o1;
                b[i] = (src[p + c2] * s2) + o2;
            }
        }
        else
        {
            for (var p = 0; p < plane * 3; p += 3)
            {
                dst[p] = (src[p + c0] * s0) + o0;
                dst[p + 1] = (src[p + 1] * s1) + o1;
                dst[p + 2] = (src[p + c2] * s2) + o2;
            }
        }
    }

    /// <summary>Writes the canvas into a uint8 tensor buffer (quantized models take raw pixels).</summary>
    public unsafe void Write(Span<byte> dst)
    {
        var src = new ReadOnlySpan<byte>((void*)_canvas.DataPointer, _width * _height * 3);
        var plane = _width * _height;
        int c0 = _swapRb ? 2 : 0, c2 = _swapRb ? 0 : 2;
        if (_nchw)
        {
            for (int i = 0, p = 0; i < plane; i++, p += 3)
            {
                dst[i] = src[p + c0];
                dst[plane + i] = src[p + 1];
                dst[(2 * plane) + i] = src[p + c2];
            }
        }
        else if (!_swapRb)
        {
            src.CopyTo(dst);
        }
        else
        {
            for (var p = 0; p < plane * 3; p += 3)
            {
                dst[p] = src[p + 2];
                dst[p + 1] = src[p + 1];
                dst[p + 2] = src[p];
            }
        }
    }

    public void Dispose() => _canvas.Dispose();
}
