namespace Edge.Deployment.Manifests;

internal enum PlaceholderKind
{
    /// <summary><c>${VAR}</c> or <c>$VAR</c>.</summary>
    Variable,

    /// <summary><c>${MODULES.Name}</c>, <c>${MODULES.Name.platform}</c>, <c>${MODULES.Name.debug}</c>.</summary>
    Module,

    /// <summary><c>${MODULEDIR&lt;path&gt;}</c> with the same optional suffix.</summary>
    ModuleDirectory,
}

/// <summary>One placeholder found in template text at a position.</summary>
/// <param name="Kind">What it names.</param>
/// <param name="Name">The variable name, the module name, or the module directory.</param>
/// <param name="Suffix">For module placeholders: the platform and/or <c>debug</c> after the name, or null.</param>
/// <param name="Length">How many characters of the text it spans.</param>
/// <param name="Braced">Whether it was written <c>${...}</c>.</param>
internal readonly record struct Placeholder(PlaceholderKind Kind, string Name, string? Suffix, int Length, bool Braced)
{
    /// <summary>Reads the placeholder starting at <paramref name="start"/> (which holds <c>$</c>), if there is one.</summary>
    public static bool TryRead(string text, int start, out Placeholder placeholder)
    {
        placeholder = default;
        if (start + 1 >= text.Length)
        {
            return false;
        }

        if (text[start + 1] == '{')
        {
            var close = text.IndexOf('}', start + 2);
            if (close < 0)
            {
                return false;
            }

            var inner = text[(start + 2)..close];
            if (inner.Contains('"', StringComparison.Ordinal) || inner.Contains('\n', StringComparison.Ordinal))
            {
                return false;
            }

            var length = close - start + 1;
            if (inner.StartsWith("MODULES.", StringComparison.Ordinal) && inner.Length > 8)
            {
                var rest = inner[8..];
                var dot = rest.IndexOf('.', StringComparison.Ordinal);
                placeholder = dot < 0
                    ? new(PlaceholderKind.Module, rest, null, length, true)
                    : new(PlaceholderKind.Module, rest[..dot], rest[(dot + 1)..], length, true);
                return placeholder.Name.Length > 0;
            }

            if (inner.StartsWith("MODULEDIR<", StringComparison.Ordinal))
            {
                var gt = inner.IndexOf('>', StringComparison.Ordinal);
                if (gt < 0)
                {
                    return false;
                }

                var dir = inner[10..gt];
                var suffix = inner[(gt + 1)..];
                if (suffix.Length > 0 && suffix[0] != '.')
                {
                    return false;
                }

                placeholder = new(PlaceholderKind.ModuleDirectory, dir, suffix.Length > 0 ? suffix[1..] : null, length, true);
                return dir.Length > 0;
            }

            if (inner.Length > 0 && IsNameStart(inner[0]) && inner.All(IsNameChar))
            {
                placeholder = new(PlaceholderKind.Variable, inner, null, length, true);
                return true;
            }

            return false;
        }

        if (!IsNameStart(text[start + 1]))
        {
            return false;
        }

        var end = start + 1;
        while (end < text.Length && IsNameChar(text[end]))
        {
            end++;
        }

        placeholder = new(PlaceholderKind.Variable, text[(start + 1)..end], null, end - start, false);
        return true;
    }

    /// <summary>
    /// Whether an unbraced <c>$name</c> that is not defined must be an error: only UPPER_SNAKE names are taken for
    /// environment variables; <c>$edgeAgent</c>, <c>$upstream</c>, <c>$body</c>, <c>$connectionModuleId</c> stay as written.
    /// </summary>
    public static bool LooksLikeEnvironmentName(string name) =>
        name.Length > 0 && name.Any(char.IsAsciiLetterUpper) && name.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_');

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
