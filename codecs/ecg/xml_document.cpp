#include "codecs/ecg/xml_document.hpp"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <new>

namespace countylink::codecs::ecg {
namespace {

// libxml2's one-time global setup; C++ runs it once even with many threads parsing at once.
void init_libxml2() {
    static const bool done = [] {
        xmlInitParser();
        return true;
    }();
    (void)done;
}

struct FreeContext {
    void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};
struct FreeXmlChars {
    void operator()(xmlChar* text) const { xmlFree(text); }
};
using XmlChars = std::unique_ptr<xmlChar, FreeXmlChars>;

// What the SAX hook saw, reached through ctxt->_private during one parse.
struct EntityWatch {
    bool declared = false;
    long line = 0;
    std::string name;
};

// Any entity declaration ends the parse before libxml2 records or expands it: no external entity
// is ever resolved and no expansion can blow up, whatever the declaration says.
void refuse_entity(void* ctx, const xmlChar* name, int, const xmlChar*, const xmlChar*, xmlChar*) {
    auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
    auto* watch = static_cast<EntityWatch*>(ctxt->_private);
    if (!watch->declared) {
        watch->declared = true;
        watch->line = ctxt->input ? ctxt->input->line : 0;
        watch->name = name ? reinterpret_cast<const char*>(name) : "";
    }
    xmlStopParser(ctxt);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool is_element(const xmlNode* n) {
    return n->type == XML_ELEMENT_NODE;
}

bool named(const xmlNode* n, std::string_view name) {
    return is_element(n) && n->name &&
           std::string_view(reinterpret_cast<const char*>(n->name)) == name;
}

const xmlNode* first_descendant(const xmlNode* node, std::string_view name) {
    for (const xmlNode* c = node->children; c; c = c->next) {
        if (!is_element(c)) continue;
        if (named(c, name)) return c;
        if (const xmlNode* d = first_descendant(c, name)) return d;
    }
    return nullptr;
}

}  // namespace

void XmlDocument::Free::operator()(_xmlDoc* doc) const {
    xmlFreeDoc(doc);
}

XmlParseResult XmlDocument::parse(std::span<const std::byte> bytes, std::string_view root_name) {
    XmlParseResult out;
    if (bytes.size() > kMaxXmlBytes || bytes.size() > static_cast<std::size_t>(INT_MAX)) {
        out.error = {ErrorKind::too_large, "XML document of " + std::to_string(bytes.size()) +
                                               " bytes is larger than the limit of " +
                                               std::to_string(kMaxXmlBytes)};
        return out;
    }
    if (bytes.empty()) {
        out.error = {ErrorKind::malformed, "XML document is empty"};
        return out;
    }
    init_libxml2();
    std::unique_ptr<xmlParserCtxt, FreeContext> ctxt(xmlCreateMemoryParserCtxt(
        reinterpret_cast<const char*>(bytes.data()), static_cast<int>(bytes.size())));
    if (!ctxt || !ctxt->sax) throw std::bad_alloc();
    // No network, no DTD loading or validation, no entity substitution, errors kept off stderr.
    xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                      XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES);
    EntityWatch watch;
    ctxt->_private = &watch;
    ctxt->sax->entityDecl = refuse_entity;
    ctxt->sax->unparsedEntityDecl = nullptr;

    xmlParseDocument(ctxt.get());
    std::unique_ptr<_xmlDoc, Free> doc(ctxt->myDoc);
    ctxt->myDoc = nullptr;

    if (watch.declared) {
        out.error = {ErrorKind::malformed,
                     "XML line " + std::to_string(watch.line) + ": the DOCTYPE declares entity '" +
                         watch.name +
                         "'; entity declarations are refused (external entities, expansion)"};
        return out;
    }
    if (!ctxt->wellFormed || !doc || !xmlDocGetRootElement(doc.get())) {
        const xmlError* err = xmlCtxtGetLastError(ctxt.get());
        std::string message = err && err->message ? std::string(trim(err->message))
                                                  : std::string("not well-formed XML");
        long line = err ? err->line : 0;
        out.error = {ErrorKind::malformed,
                     "XML line " + std::to_string(line) + ": " + std::move(message)};
        return out;
    }
    XmlElement root(xmlDocGetRootElement(doc.get()));
    if (!root_name.empty() && root.name() != root_name) {
        out.error = {ErrorKind::malformed, "root element is '" + std::string(root.name()) +
                                               "', not " + std::string(root_name) + root.where()};
        return out;
    }
    out.document = std::make_unique<XmlDocument>(std::move(doc));
    return out;
}

XmlElement XmlDocument::root() const {
    return XmlElement(xmlDocGetRootElement(doc_.get()));
}

std::string_view XmlElement::name() const {
    return node_ && node_->name ? std::string_view(reinterpret_cast<const char*>(node_->name))
                                : std::string_view();
}

long XmlElement::line() const {
    return node_ ? xmlGetLineNo(node_) : 0;
}

XmlElement XmlElement::child(std::string_view name) const {
    if (!node_) return {};
    for (const xmlNode* c = node_->children; c; c = c->next)
        if (named(c, name)) return XmlElement(c);
    return {};
}

XmlElement XmlElement::path(std::initializer_list<std::string_view> names) const {
    XmlElement e = *this;
    for (auto n : names) e = e.child(n);
    return e;
}

std::vector<XmlElement> XmlElement::children(std::string_view name) const {
    std::vector<XmlElement> out;
    if (!node_) return out;
    for (const xmlNode* c = node_->children; c; c = c->next)
        if (is_element(c) && (name.empty() || named(c, name))) out.emplace_back(c);
    return out;
}

XmlElement XmlElement::descendant(std::string_view name) const {
    return node_ ? XmlElement(first_descendant(node_, name)) : XmlElement();
}

std::string XmlElement::text() const {
    if (!node_) return {};
    XmlChars content(xmlNodeGetContent(node_));
    return content ? std::string(reinterpret_cast<const char*>(content.get())) : std::string();
}

std::string XmlElement::trimmed_text() const {
    return std::string(trim(text()));
}

std::optional<std::string> XmlElement::attribute(std::string_view name) const {
    if (!node_) return std::nullopt;
    for (const xmlAttr* a = node_->properties; a; a = a->next) {
        if (!a->name || std::string_view(reinterpret_cast<const char*>(a->name)) != name) continue;
        XmlChars value(xmlNodeListGetString(node_->doc, a->children, 1));
        return value ? std::string(reinterpret_cast<const char*>(value.get())) : std::string();
    }
    return std::nullopt;
}

void read_measurement_fields(const XmlElement& holder, std::span<const XmlMeasurementField> fields,
                             std::vector<Measurement>& out) {
    for (const auto& f : fields)
        if (auto v = parse_number(holder.child(f.element).text()))
            out.push_back({std::string(f.name), *v, std::string(f.unit)});
}

std::optional<double> parse_number(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

std::optional<long long> parse_integer(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

}  // namespace countylink::codecs::ecg
