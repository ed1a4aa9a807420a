namespace Edge.Bench;

/// <summary>One benchmark suite, found by reflection: add a class, nothing else to register.</summary>
public interface IBenchSuite
{
    /// <summary>The name given on the command line.</summary>
    string Name { get; }

    /// <summary>One line for the usage list.</summary>
    string Description { get; }

    /// <summary>Runs the suite and prints a Markdown table with the ratio against the limit. Returns the exit code.</summary>
    Task<int> RunAsync(string[] args);
}
