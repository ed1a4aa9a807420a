using System.Globalization;
using System.Text.Json.Nodes;
using Edge.Runtime;

namespace CameraCapture;

/// <summary>
/// Builds a frame's message: the JPEG inline, or, when frames travel by reference, the frame written to the shared volume
/// and a small JSON body naming it. Property names: <see cref="FrameProperties"/> (shared with Inference).
/// </summary>
internal sealed class FrameMessage(string cameraId, FrameStore store)
{
    public async Task<(EdgeMessage Message, long Bytes)> BuildAsync(CapturedFrame item, long seq, string messageId, CancellationToken ct)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FrameProperties.CameraId] = cameraId,
            [FrameProperties.Seq] = seq.ToString(CultureInfo.InvariantCulture),
            [FrameProperties.CapturedAt] = item.CapturedAt.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            [FrameProperties.Width] = item.Jpeg.Width.ToString(CultureInfo.InvariantCulture),
            [FrameProperties.Height] = item.Jpeg.Height.ToString(CultureInfo.InvariantCulture),
        };
        if (item.KeepAlive)
        {
            properties[FrameProperties.KeepAlive] = "true";
        }

        if (item.MotionScore is { } score)
        {
            properties[FrameProperties.MotionScore] = score.ToString("0.####", CultureInfo.InvariantCulture);
        }

        if (item.Transport == FrameTransport.Inline)
        {
            return (new EdgeMessage
            {
                Body = item.Jpeg.Bytes,
                ContentType = "image/jpeg",
                MessageId = messageId,
                CreationTime = item.CapturedAt,
                Properties = properties,
            }, item.Jpeg.Bytes.Length);
        }

        var stored = await store.WriteAsync(cameraId, seq, item.Jpeg.Bytes, ct).ConfigureAwait(false);
        properties[FrameProperties.FrameRef] = stored.Path;
        properties[FrameProperties.FrameSize] = stored.Size.ToString(CultureInfo.InvariantCulture);
        properties[FrameProperties.FrameSha256] = stored.Sha256;
        var body = new JsonObject
        {
            [FrameProperties.FrameRef] = stored.Path,
            [FrameProperties.FrameSize] = stored.Size,
            [FrameProperties.FrameSha256] = stored.Sha256,
            ["contentType"] = "image/jpeg",
        };
        return (new EdgeMessage
        {
            Body = System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()),
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            MessageId = messageId,
            CreationTime = item.CapturedAt,
            Properties = properties,
        }, stored.Size);
    }
}
