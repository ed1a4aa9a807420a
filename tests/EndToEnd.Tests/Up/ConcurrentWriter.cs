using System.Text;

namespace EndToEnd.Tests.Up;

/// <summary>A text writer an in-process `edge up` run and the test share (the run writes, the test reads).</summary>
internal sealed class ConcurrentWriter : TextWriter
{
    private readonly StringBuilder _text = new();

    public override Encoding Encoding => Encoding.UTF8;

    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    public override void Write(char value)
    {
        lock (_text)
        {
            _text.Append(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_text)
        {
            _text.Append(value);
        }
    }

    public override Task WriteLineAsync(string? value)
    {
        lock (_text)
        {
            _text.AppendLine(value);
        }

        return Task.CompletedTask;
    }
}
