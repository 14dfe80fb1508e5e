// The one XML parser every XML ECG format goes through (HL7 aECG, Philips Sierra, GE MUSE): libxml2
// with the network off, no DTD loading and no entity substitution. A DOCTYPE that declares any
// entity is refused outright (XXE, billion laughs); the element tree is read through small views.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/ecg/waveform.hpp"

struct _xmlDoc;
struct _xmlNode;

namespace countylink::codecs::ecg {

// Larger documents are refused before libxml2 sees them (too_large): resting ECG files are a few
// MB at most, and libxml2's tree takes several times the document's size. Depth (256) and text
// nodes (10 MB) keep libxml2's own bounds, which we never lift (no XML_PARSE_HUGE).
inline constexpr std::size_t kMaxXmlBytes = 64u * 1024 * 1024;

// A non-owning view of one element; empty (false) when a lookup found nothing. Valid while its
// XmlDocument lives. Names are local names: namespace prefixes and URIs are ignored.
class XmlElement {
  public:
    XmlElement() = default;
    explicit XmlElement(const _xmlNode* node) : node_(node) {}

    explicit operator bool() const { return node_ != nullptr; }
    std::string_view name() const;
    // The line of the start tag in the document (for error reasons); 0 when empty.
    long line() const;
    // " (XML line N)", to end an error reason with.
    std::string where() const { return " (XML line " + std::to_string(line()) + ")"; }
    // The first child element called `name`, or an empty view.
    XmlElement child(std::string_view name) const;
    // Follows child() through each name in turn: path({"a", "b"}) is child("a").child("b").
    XmlElement path(std::initializer_list<std::string_view> names) const;
    // All child elements called `name` (every child element when `name` is empty), in order.
    std::vector<XmlElement> children(std::string_view name = {}) const;
    // The first descendant element called `name` in document order, or an empty view.
    XmlElement descendant(std::string_view name) const;
    // All text inside the element, concatenated; "" for an empty view.
    std::string text() const;
    // text() with leading and trailing white space removed.
    std::string trimmed_text() const;
    // The attribute's value (namespace ignored), or nullopt when absent.
    std::optional<std::string> attribute(std::string_view name) const;
    // attribute() or "" when absent.
    std::string attr(std::string_view name) const { return attribute(name).value_or(""); }

  private:
    const _xmlNode* node_ = nullptr;
};

class XmlDocument;

// Either a parsed document or the reason there is none ("XML line 12: ...").
struct XmlParseResult {
    std::unique_ptr<XmlDocument> document;
    ParseError error;  // meaningful only when !document
};

class XmlDocument {
  public:
    // Parses `bytes` (UTF-8, ISO-8859-1 or UTF-16 with a BOM, as the document declares). Fails,
    // with the XML line where known, on malformed XML, on any entity declaration, on documents
    // larger than kMaxXmlBytes (too_large) and on nesting deeper than libxml2's limit. With a
    // `root_name`, also fails when the root element has another local name.
    static XmlParseResult parse(std::span<const std::byte> bytes, std::string_view root_name = {});

    // The root element (never empty for a parsed document).
    XmlElement root() const;

    struct Free {
        void operator()(_xmlDoc* doc) const;
    };
    explicit XmlDocument(std::unique_ptr<_xmlDoc, Free> doc) : doc_(std::move(doc)) {}

  private:
    std::unique_ptr<_xmlDoc, Free> doc_;
};

// A measurement a device writes as one child element's text, e.g. <QRSDuration>96</QRSDuration>.
struct XmlMeasurementField {
    std::string_view element, name, unit;
};

// Appends a Measurement (name, value, unit) for each field whose element under `holder` holds a
// number; "Indeterminate", empty or missing elements are skipped.
void read_measurement_fields(const XmlElement& holder, std::span<const XmlMeasurementField> fields,
                             std::vector<Measurement>& out);

// Numbers as XML files write them: surrounding white space allowed, nothing else after the
// number. nullopt when the text is not a finite number.
std::optional<double> parse_number(std::string_view text);
std::optional<long long> parse_integer(std::string_view text);

}  // namespace countylink::codecs::ecg
