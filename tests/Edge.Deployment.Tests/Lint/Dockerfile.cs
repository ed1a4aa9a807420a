namespace Edge.Deployment.Tests.Lint;

/// <summary>One Dockerfile instruction after joining continuation lines.</summary>
internal sealed record Instruction(string Keyword, string Arguments, int Line);

/// <summary>A build stage: its FROM and the instructions after it.</summary>
internal sealed record Stage(string Image, string? Platform, string? Name, List<Instruction> Instructions);

/// <summary>Just enough Dockerfile reading to lint the module images (no Docker here to build them).</summary>
internal static class Dockerfile
{
    public static List<Stage> Parse(string text)
    {
        var stages = new List<Stage>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var current = "";
        var startLine = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0))
            {
                continue;
            }

            if (current.Length == 0)
            {
                startLine = i + 1;
            }

            if (line.TrimEnd().EndsWith('\\'))
            {
                current += line.TrimEnd()[..^1] + " ";
                continue;
            }

            current += line;
            var trimmed = current.Trim();
            current = "";
            var space = trimmed.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? trimmed : trimmed[..space]).ToUpperInvariant();
            var args = space < 0 ? "" : trimmed[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var words = args.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
                var platform = words.FirstOrDefault(w => w.StartsWith("--platform=", StringComparison.Ordinal))?[11..];
                words.RemoveAll(w => w.StartsWith("--", StringComparison.Ordinal));
                var name = words.Count >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
                stages.Add(new Stage(words[0], platform, name, []));
            }
            else if (stages.Count > 0)
            {
                stages[^1].Instructions.Add(new Instruction(keyword, args, startLine));
            }
        }

        return stages;
    }

    /// <summary>The source paths of a COPY without --from (the last word is the destination).</summary>
    public static IReadOnlyList<string> CopySources(Instruction copy)
    {
        var words = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
        return words.Take(words.Count - 1).ToList();
    }
}
