using System.Globalization;

namespace Edge.Routing;

/// <summary>The run-time kinds of a condition value (Routing.Core: Undefined, Null, Bool, double, string).</summary>
internal enum ValueKind : byte
{
    Undefined,
    Null,
    Bool,
    Number,
    String,
}

/// <summary>
/// The compile-time type of an expression. <see cref="Dynamic"/> is a <c>$body</c> query result (Routing.Core
/// <c>QueryValue</c>), whose kind is only known at run time.
/// </summary>
internal enum QueryType : byte
{
    Undefined,
    Null,
    Bool,
    Number,
    String,
    Dynamic,
}

/// <summary>One condition value. A small struct so evaluation allocates nothing but concatenated strings.</summary>
internal readonly struct Value
{
    public static readonly Value Undefined;
    public static readonly Value Null = new(ValueKind.Null, 0, null);
    public static readonly Value True = new(ValueKind.Bool, 1, null);
    public static readonly Value False = new(ValueKind.Bool, 0, null);

    /// <summary>A property that is present with a null value: a string-typed null (Routing.Core reads it as a null string).</summary>
    public static readonly Value NullString = new(ValueKind.String, 0, null);

    /// <summary>
    /// A <c>$body</c> path that selects nothing. Routing.Core's JSON query provider answers such a query with its shared
    /// <c>QueryValue.Null</c> instance, which is null like a JSON <c>null</c> except to <c>is_null</c> and
    /// <c>twin_change_includes</c>, which compare against that very instance.
    /// </summary>
    public static readonly Value MissingNull = new(ValueKind.Null, 1, null);

    private Value(ValueKind kind, double number, string? text)
    {
        Kind = kind;
        Number = number;
        Text = text;
    }

    public ValueKind Kind { get; }

    public double Number { get; }

    public string? Text { get; }

    public bool IsTrue => Kind == ValueKind.Bool && Number != 0;

    public bool IsFalse => Kind == ValueKind.Bool && Number == 0;

    public bool IsDefined => Kind != ValueKind.Undefined;

    /// <summary>True for <see cref="MissingNull"/>.</summary>
    public bool IsMissing => Kind == ValueKind.Null && Number != 0;

    /// <summary>A number; NaN is undefined (Routing.Core stores an undefined number as NaN), infinities are numbers.</summary>
    public static Value Of(double d) => double.IsNaN(d) ? Undefined : new(ValueKind.Number, d, null);

    public static Value Of(string? s) => s is null ? Undefined : new(ValueKind.String, 0, s);

    public static Value Of(bool b) => b ? True : False;

    public override string ToString() => Kind switch
    {
        ValueKind.Undefined => "undefined",
        ValueKind.Null => "null",
        ValueKind.Bool => IsTrue ? "true" : "false",
        ValueKind.Number => Number.ToString("R", CultureInfo.InvariantCulture),
        _ => Text is null ? "null (a null-valued property)" : "'" + Text + "'",
    };
}

internal static class QueryTypeExtensions
{
    public static string Describe(this QueryType t) => t switch
    {
        QueryType.Undefined => "undefined",
        QueryType.Null => "null",
        QueryType.Bool => "bool",
        QueryType.Number => "number",
        QueryType.String => "string",
        _ => "$body value",
    };

    public static QueryType ToQueryType(this ValueKind k) => k switch
    {
        ValueKind.Null => QueryType.Null,
        ValueKind.Bool => QueryType.Bool,
        ValueKind.Number => QueryType.Number,
        ValueKind.String => QueryType.String,
        _ => QueryType.Undefined,
    };
}
