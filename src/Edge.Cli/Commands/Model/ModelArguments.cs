using System.Globalization;
using Inference.Models;

namespace Edge.Cli.Commands.Model;

/// <summary>A bad <c>edge model</c> command line: the message says what to give instead (exit 2).</summary>
internal sealed class ModelArgumentException(string message) : Exception(message);

/// <summary>Parses <c>edge model</c> arguments: positionals, <c>--name value</c> options and flags.</summary>
internal static class ModelArguments
{
    public static (List<string> Positional, Dictionary<string, string> Options) Parse(string[] args, string[] valued, string[] flags)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (valued.Contains(a))
            {
                if (i + 1 >= args.Length)
                {
                    throw new ModelArgumentException($"{a} needs a value");
                }

                options[a] = args[++i];
            }
            else if (flags.Contains(a))
            {
                options[a] = "true";
            }
            else if (a.StartsWith('-') && a.Length > 1)
            {
                throw new ModelArgumentException($"unknown option '{a}'");
            }
            else
            {
                positional.Add(a);
            }
        }

        return (positional, options);
    }

    public static ModelProfile ParseProfile(string? value) => value is null
        ? ModelProfile.Blazeface
        : Enum.TryParse<ModelProfile>(value, ignoreCase: true, out var p) && Enum.IsDefined(p) && !int.TryParse(value, out _)
            ? p
            : throw new ModelArgumentException($"--profile {value}: use blazeface, yolo, ssd or classification");

    public static double ParseDouble(Dictionary<string, string> options, string name, double fallback, double min, double max)
    {
        if (!options.TryGetValue(name, out var s))
        {
            return fallback;
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new ModelArgumentException($"{name} {s}: give a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
    }
}
