using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Edge.Runtime;

/// <summary>
/// A <see cref="TimeSpan"/> (or nullable) must lie within [<see cref="Minimum"/>, <see cref="Maximum"/>]. The trim- and
/// AOT-safe form of <c>[Range(typeof(TimeSpan), min, max)]</c> (which resolves a TypeConverter by reflection), with the
/// same error message.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter)]
public sealed class TimeSpanRangeAttribute : ValidationAttribute
{
    /// <summary>Creates the range from two invariant <c>[d.]hh:mm:ss[.fff]</c> strings.</summary>
    public TimeSpanRangeAttribute(string minimum, string maximum)
        : base("The field {0} must be between {1} and {2}.")
    {
        Minimum = minimum;
        Maximum = maximum;
    }

    /// <summary>The smallest allowed value, as written.</summary>
    public string Minimum { get; }

    /// <summary>The largest allowed value, as written.</summary>
    public string Maximum { get; }

    /// <inheritdoc/>
    public override bool IsValid(object? value) => value switch
    {
        null => true,
        TimeSpan t => t >= Parse(Minimum) && t <= Parse(Maximum),
        _ => false,
    };

    /// <inheritdoc/>
    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Minimum, Maximum);

    private static TimeSpan Parse(string s) => TimeSpan.Parse(s, CultureInfo.InvariantCulture);
}
