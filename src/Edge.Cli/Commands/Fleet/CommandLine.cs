namespace Edge.Cli.Fleet;

/// <summary>
/// The small argument reader the fleet and manifest commands share: positionals, <c>--name value</c>, <c>--name=value</c>,
/// repeatable options and flags. Unknown options are a usage error.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private CommandLine(List<string> positionals) => Positionals = positionals;

    public IReadOnlyList<string> Positionals { get; }

    /// <summary>Parses <paramref name="args"/>; <paramref name="valued"/> take a value, <paramref name="flags"/> do not.</summary>
    public static CommandLine Parse(IEnumerable<string> args, IReadOnlyCollection<string> valued, IReadOnlyCollection<string> flags)
    {
        var positionals = new List<string>();
        var line = new CommandLine(positionals);
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (a == "--")
            {
                positionals.AddRange(list.Skip(i + 1));
                break;
            }

            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                positionals.Add(a);
                continue;
            }

            var name = a[2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            if (flags.Contains(name) && value is null)
            {
                line._flags.Add(name);
                continue;
            }

            if (!valued.Contains(name))
            {
                throw new UsageException($"unknown option --{name}");
            }

            if (value is null)
            {
                if (i + 1 >= list.Count)
                {
                    throw new UsageException($"--{name} needs a value");
                }

                value = list[++i];
            }

            if (!line._options.TryGetValue(name, out var values))
            {
                line._options[name] = values = [];
            }

            values.Add(value);
        }

        return line;
    }

    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> GetAll(string name) => _options.TryGetValue(name, out var v) ? v : [];

    public bool Has(string name) => _flags.Contains(name);

    public int GetInt(string name, int fallback, int min, int max)
    {
        var text = Get(name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new UsageException($"--{name} must be a whole number from {min} to {max}, not '{text}'");
    }
}

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
