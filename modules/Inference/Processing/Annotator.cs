using OpenCvSharp;

namespace Inference.Processing;

/// <summary>Draws detections (boxes, labels, scores, keypoints) onto a frame and encodes it as JPEG for the <c>annotated</c> output.</summary>
internal static class Annotator
{
    private static readonly Scalar Box = new(0, 220, 0);
    private static readonly Scalar Text = new(0, 0, 0);
    private static readonly Scalar Point = new(0, 160, 255);

    public static byte[] DrawAndEncode(Mat frame, IReadOnlyList<Detection> detections, int quality)
    {
        var thickness = Math.Max(1, frame.Width / 400);
        foreach (var d in detections)
        {
            var rect = new Rect(
                (int)(d.Box.X * frame.Width), (int)(d.Box.Y * frame.Height), (int)(d.Box.W * frame.Width), (int)(d.Box.H * frame.Height));
            Cv2.Rectangle(frame, rect, Box, thickness);
            var caption = $"{d.Label} {d.Score:0.00}";
            var size = Cv2.GetTextSize(caption, HersheyFonts.HersheySimplex, 0.5, 1, out var baseline);
            var top = Math.Max(0, rect.Y - size.Height - baseline);
            Cv2.Rectangle(frame, new Rect(rect.X, top, size.Width, size.Height + baseline), Box, -1);
            Cv2.PutText(frame, caption, new OpenCvSharp.Point(rect.X, top + size.Height), HersheyFonts.HersheySimplex, 0.5, Text, 1, LineTypes.AntiAlias);
            foreach (var k in d.Keypoints ?? [])
            {
                Cv2.Circle(frame, new OpenCvSharp.Point((int)(k.X * frame.Width), (int)(k.Y * frame.Height)), thickness + 1, Point, -1);
            }
        }

        Cv2.ImEncode(".jpg", frame, out var jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
        return jpeg;
    }
}
