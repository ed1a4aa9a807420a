namespace Edge.Deployment.Manifests;

/// <summary>How bad a manifest problem is: errors make <c>edge manifest validate</c> exit 2, warnings do not.</summary>
public enum ManifestSeverity
{
    Warning,
    Error,
}

/// <summary>One problem found while expanding or validating a manifest, located by a JSON path (<c>$.modulesContent...</c>).</summary>
public sealed record ManifestProblem(ManifestSeverity Severity, string Path, string Message)
{
    public static ManifestProblem Error(string path, string message) => new(ManifestSeverity.Error, path, message);

    public static ManifestProblem Warning(string path, string message) => new(ManifestSeverity.Warning, path, message);

    public override string ToString() => $"{(Severity == ManifestSeverity.Error ? "error" : "warning")}: {Path}: {Message}";
}

/// <summary>Thrown when a template cannot be expanded; <see cref="Problems"/> lists every reason, not just the first.</summary>
public sealed class ManifestException : Exception
{
    public ManifestException(IReadOnlyList<ManifestProblem> problems)
        : base(string.Join(Environment.NewLine, problems.Select(p => p.ToString())))
    {
        Problems = problems;
    }

    public ManifestException(string message)
        : this([ManifestProblem.Error("$", message)])
    {
    }

    public ManifestException()
        : this("manifest error")
    {
    }

    public ManifestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [ManifestProblem.Error("$", message)];
    }

    public IReadOnlyList<ManifestProblem> Problems { get; }
}

/// <summary>Builds JSON paths the way the problems print them: <c>$.a.b</c>, <c>$.a['properties.desired']</c>, <c>$.a[0]</c>.</summary>
internal static class JsonPath
{
    public static string Child(string parent, string name)
    {
        var plain = name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '$' or '-');
        return plain ? $"{parent}.{name}" : $"{parent}['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";
    }

    public static string Index(string parent, int index) => $"{parent}[{index}]";
}
