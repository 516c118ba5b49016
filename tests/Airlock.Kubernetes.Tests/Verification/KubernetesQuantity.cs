using System.Text.RegularExpressions;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// The grammar of <c>resource.Quantity</c> as <c>k8s.io/apimachinery/pkg/api/resource.ParseQuantity</c> accepts it:
/// <code>
/// quantity        ::= signedNumber suffix
/// signedNumber    ::= number | sign number        sign ::= "+" | "-"
/// number          ::= digits | digits "." digits | digits "." | "." digits
/// suffix          ::= binarySI | decimalExponent | decimalSI
/// binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
/// decimalSI       ::= n | u | m | "" | k | M | G | T | P | E
/// decimalExponent ::= "e" signedInteger | "E" signedInteger
/// </code>
/// The exponent is an integer (the parser reads it with <c>strconv.ParseInt</c>), so <c>1e1.5</c> is refused
/// although the CRD pattern controller-gen emits would let it through. Values beyond 2^63-1 or with more than
/// three decimal places are accepted and rounded by the server, so they are not errors here either.
/// </summary>
public static partial class KubernetesQuantity
{
    /// <summary>Whether <paramref name="text"/> parses as a Kubernetes quantity.</summary>
    public static bool IsValid(string text) => QuantityPattern().IsMatch(text);

    [GeneratedRegex(@"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex QuantityPattern();
}
