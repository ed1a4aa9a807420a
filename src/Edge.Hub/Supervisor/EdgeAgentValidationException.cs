namespace Edge.Hub.Supervisor;

/// <summary>An <c>$edgeAgent</c> desired document the supervisor rejected; nothing was changed. Maps to edgeAgent's deployment status 400.</summary>
public sealed class EdgeAgentValidationException : Exception
{
    public EdgeAgentValidationException()
        : this([])
    {
    }

    public EdgeAgentValidationException(string message)
        : this([message])
    {
    }

    public EdgeAgentValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    public EdgeAgentValidationException(IReadOnlyList<string> errors)
        : base("Invalid $edgeAgent desired properties: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>Each problem as <c>path: message</c>, the path relative to the <c>$edgeAgent</c> desired document (e.g. <c>modules.filter.restartPolicy</c>).</summary>
    public IReadOnlyList<string> Errors { get; }
}
