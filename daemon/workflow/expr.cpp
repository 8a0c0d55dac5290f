#include "workflow/expr.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>

#include "workflow/suggest.hpp"

namespace reelflow::workflow {

namespace {

using nlohmann::json;

constexpr std::string_view kOpen = "${{";
constexpr std::string_view kClose = "}}";
// A chain like a || b || c || ... builds a tree as tall as it is long; bounding the height keeps
// evaluation's recursion shallow whatever the input.
constexpr int kMaxTreeHeight = 256;

const std::array<std::string_view, 5> kRoots = {"trigger", "steps", "item", "env", "secrets"};

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

enum class Tok {
  kEnd,
  kIdent,
  kLiteral,  // string, number, true, false, null
  kDot,
  kLBracket,
  kRBracket,
  kLParen,
  kRParen,
  kComma,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kNot,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::size_t offset = 0;
  std::string text;  // identifier name, or the operator as written
  json value;        // for literals
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string quote_for_message(std::string_view text) {
  constexpr std::size_t kShown = 60;
  std::string out(text.substr(0, kShown));
  if (text.size() > kShown) out += "...";
  return "'" + out + "'";
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  tl::expected<std::vector<Token>, ExprProblem> run() {
    std::vector<Token> tokens;
    while (true) {
      while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
      if (pos_ >= text_.size()) break;
      auto token = next();
      if (!token) return tl::unexpected(token.error());
      tokens.push_back(std::move(*token));
    }
    tokens.push_back(Token{Tok::kEnd, text_.size(), "", nullptr});
    return tokens;
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  tl::unexpected<ExprProblem> problem(std::size_t offset, std::string message) {
    return tl::unexpected(ExprProblem{offset, std::move(message)});
  }

  tl::expected<Token, ExprProblem> next() {
    const std::size_t start = pos_;
    const char c = text_[pos_];
    auto two = [&](char second) { return pos_ + 1 < text_.size() && text_[pos_ + 1] == second; };
    auto simple = [&](Tok kind, std::size_t length) {
      pos_ += length;
      return Token{kind, start, std::string(text_.substr(start, length)), nullptr};
    };
    if (c == '\'' || c == '"') return string_literal(c);
    if (is_digit(c) || (c == '-' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
      return number_literal();
    }
    if (is_ident_start(c)) {
      while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
      std::string word(text_.substr(start, pos_ - start));
      if (word == "true") return Token{Tok::kLiteral, start, word, true};
      if (word == "false") return Token{Tok::kLiteral, start, word, false};
      if (word == "null") return Token{Tok::kLiteral, start, word, nullptr};
      return Token{Tok::kIdent, start, word, nullptr};
    }
    switch (c) {
      case '.':
        return simple(Tok::kDot, 1);
      case '[':
        return simple(Tok::kLBracket, 1);
      case ']':
        return simple(Tok::kRBracket, 1);
      case '(':
        return simple(Tok::kLParen, 1);
      case ')':
        return simple(Tok::kRParen, 1);
      case ',':
        return simple(Tok::kComma, 1);
      case '=':
        if (two('=')) return simple(Tok::kEq, 2);
        return problem(start, "unexpected '=' (use '==' to compare)");
      case '!':
        return two('=') ? simple(Tok::kNe, 2) : simple(Tok::kNot, 1);
      case '<':
        return two('=') ? simple(Tok::kLe, 2) : simple(Tok::kLt, 1);
      case '>':
        return two('=') ? simple(Tok::kGe, 2) : simple(Tok::kGt, 1);
      case '&':
        if (two('&')) return simple(Tok::kAnd, 2);
        return problem(start, "unexpected '&' (use '&&')");
      case '|':
        if (two('|')) return simple(Tok::kOr, 2);
        return problem(start, "unexpected '|' (use '||')");
      default:
        break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) return problem(start, "unexpected character");
    return problem(start, std::string("unexpected character '") + c + "'");
  }

  tl::expected<Token, ExprProblem> string_literal(char quote) {
    const std::size_t start = pos_++;
    std::string value;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == quote) {
        if (quote == '\'' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\'') {
          value.push_back('\'');
          pos_ += 2;
          continue;
        }
        ++pos_;
        return Token{Tok::kLiteral, start, std::string(text_.substr(start, pos_ - start)), value};
      }
      if (quote == '"' && c == '\\') {
        if (pos_ + 1 >= text_.size()) break;
        char escaped = text_[pos_ + 1];
        switch (escaped) {
          case 'n':
            value.push_back('\n');
            break;
          case 't':
            value.push_back('\t');
            break;
          case 'r':
            value.push_back('\r');
            break;
          case '\\':
          case '"':
          case '\'':
            value.push_back(escaped);
            break;
          default:
            return problem(pos_, std::string("unknown escape '\\") + escaped + "'");
        }
        pos_ += 2;
        continue;
      }
      value.push_back(c);
      ++pos_;
    }
    return problem(start, std::string("unterminated string (missing closing ") + quote + ")");
  }

  tl::expected<Token, ExprProblem> number_literal() {
    const std::size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    bool is_float = false;
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && is_digit(text_[pos_ + 1])) {
      is_float = true;
      ++pos_;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t exponent = pos_ + 1;
      if (exponent < text_.size() && (text_[exponent] == '+' || text_[exponent] == '-')) ++exponent;
      if (exponent < text_.size() && is_digit(text_[exponent])) {
        is_float = true;
        pos_ = exponent;
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      }
    }
    if (pos_ < text_.size() && is_ident_start(text_[pos_])) {
      return problem(start,
                     "invalid number " + quote_for_message(text_.substr(start, pos_ + 1 - start)));
    }
    std::string_view digits = text_.substr(start, pos_ - start);
    Token token{Tok::kLiteral, start, std::string(digits), nullptr};
    if (!is_float) {
      std::int64_t integer = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), integer);
      if (ec == std::errc() && end == digits.data() + digits.size()) {
        token.value = integer;
        return token;
      }
    }
    double number = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (ec != std::errc() || !std::isfinite(number)) {
      return problem(start, "number out of range " + quote_for_message(digits));
    }
    token.value = number;
    return token;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Syntax tree and parser
// ---------------------------------------------------------------------------------------------

enum class NodeKind { kLiteral, kName, kProperty, kIndex, kCall, kNot, kBinary };

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  std::size_t offset = 0;       // where the node starts in the expression text
  std::size_t name_offset = 0;  // for kProperty: where the property name starts
  json literal;
  std::string name;  // kName: the root; kProperty: the key; kCall: the function; kBinary: the op
  Tok op = Tok::kEnd;
  std::vector<std::unique_ptr<Node>> children;
  int height = 1;
};

using NodePtr = std::unique_ptr<Node>;

struct FunctionInfo {
  std::string_view name;
  std::size_t min_args;
  std::size_t max_args;  // SIZE_MAX: variadic
  std::string_view signature;
};

constexpr std::size_t kVariadic = static_cast<std::size_t>(-1);
constexpr std::array<FunctionInfo, 9> kFunctions = {{
    {"format", 1, kVariadic, "format(template, values...)"},
    {"join", 1, 2, "join(list, separator)"},
    {"basename", 1, 1, "basename(path)"},
    {"stem", 1, 1, "stem(path)"},
    {"default", 2, 2, "default(value, fallback)"},
    {"length", 1, 1, "length(value)"},
    {"contains", 2, 2, "contains(haystack, needle)"},
    {"startsWith", 2, 2, "startsWith(text, prefix)"},
    {"endsWith", 2, 2, "endsWith(text, suffix)"},
}};

const FunctionInfo* find_function(std::string_view name) {
  for (const auto& info : kFunctions) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::vector<std::string> function_names() {
  std::vector<std::string> names;
  for (const auto& info : kFunctions) names.emplace_back(info.name);
  return names;
}

std::string token_description(const Token& token) {
  if (token.kind == Tok::kEnd) return "end of expression";
  return "'" + token.text + "'";
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  tl::expected<NodePtr, ExprProblem> run() {
    NodePtr root = parse_or();
    if (!root) return tl::unexpected(*problem_);
    if (peek().kind != Tok::kEnd) {
      return tl::unexpected(ExprProblem{peek().offset, "unexpected " + token_description(peek())});
    }
    return root;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& take() { return tokens_[std::min(pos_++, tokens_.size() - 1)]; }

  NodePtr error(std::size_t offset, std::string message) {
    if (!problem_) problem_ = ExprProblem{offset, std::move(message)};
    return nullptr;
  }

  // Depth of nested parentheses, brackets, calls and '!': bounded so hostile input ends in an
  // error, not a stack overflow.
  class DepthScope {
   public:
    explicit DepthScope(int& depth) : depth_(depth) { ++depth_; }
    ~DepthScope() { --depth_; }
    DepthScope(const DepthScope&) = delete;
    DepthScope& operator=(const DepthScope&) = delete;

   private:
    int& depth_;
  };
  bool too_deep(std::size_t offset) {
    if (depth_ <= kMaxExpressionDepth) return false;
    error(offset, "expression is nested too deeply (more than " +
                      std::to_string(kMaxExpressionDepth) + " levels)");
    return true;
  }

  NodePtr make(NodeKind kind, std::size_t offset) {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->offset = offset;
    return node;
  }

  NodePtr adopt(NodePtr parent) {
    int height = 0;
    for (const auto& child : parent->children) height = std::max(height, child->height);
    parent->height = height + 1;
    if (parent->height > kMaxTreeHeight) {
      return error(parent->offset, "expression is too complex (more than " +
                                       std::to_string(kMaxTreeHeight) + " operations deep)");
    }
    return parent;
  }

  template <typename Next>
  NodePtr parse_binary(std::initializer_list<Tok> ops, Next next) {
    NodePtr left = (this->*next)();
    if (!left) return nullptr;
    while (std::find(ops.begin(), ops.end(), peek().kind) != ops.end()) {
      const Token& op = take();
      NodePtr right = (this->*next)();
      if (!right) return nullptr;
      NodePtr node = make(NodeKind::kBinary, left->offset);
      node->op = op.kind;
      node->name = op.text;
      node->children.push_back(std::move(left));
      node->children.push_back(std::move(right));
      left = adopt(std::move(node));
      if (!left) return nullptr;
    }
    return left;
  }

  NodePtr parse_or() { return parse_binary({Tok::kOr}, &Parser::parse_and); }
  NodePtr parse_and() { return parse_binary({Tok::kAnd}, &Parser::parse_equality); }
  NodePtr parse_equality() { return parse_binary({Tok::kEq, Tok::kNe}, &Parser::parse_comparison); }
  NodePtr parse_comparison() {
    return parse_binary({Tok::kLt, Tok::kLe, Tok::kGt, Tok::kGe}, &Parser::parse_unary);
  }

  NodePtr parse_unary() {
    if (peek().kind != Tok::kNot) return parse_postfix();
    DepthScope scope(depth_);
    const Token& bang = take();
    if (too_deep(bang.offset)) return nullptr;
    NodePtr operand = parse_unary();
    if (!operand) return nullptr;
    NodePtr node = make(NodeKind::kNot, bang.offset);
    node->children.push_back(std::move(operand));
    return adopt(std::move(node));
  }

  NodePtr parse_postfix() {
    NodePtr node = parse_primary();
    while (node) {
      if (peek().kind == Tok::kDot) {
        take();
        const Token& name = take();
        if (name.kind != Tok::kIdent &&
            !(name.kind == Tok::kLiteral && is_ident_start(name.text[0]))) {
          return error(name.offset,
                       "expected a property name after '.', got " + token_description(name));
        }
        NodePtr property = make(NodeKind::kProperty, node->offset);
        property->name = name.text;
        property->name_offset = name.offset;
        property->children.push_back(std::move(node));
        node = adopt(std::move(property));
      } else if (peek().kind == Tok::kLBracket) {
        DepthScope scope(depth_);
        const Token& open = take();
        if (too_deep(open.offset)) return nullptr;
        NodePtr index = parse_or();
        if (!index) return nullptr;
        if (peek().kind != Tok::kRBracket) {
          return error(peek().offset, "expected ']' to close '[' at offset " +
                                          std::to_string(open.offset) + ", got " +
                                          token_description(peek()));
        }
        take();
        NodePtr access = make(NodeKind::kIndex, node->offset);
        access->name_offset = index->offset;
        access->children.push_back(std::move(node));
        access->children.push_back(std::move(index));
        node = adopt(std::move(access));
      } else {
        break;
      }
    }
    return node;
  }

  NodePtr parse_primary() {
    const Token& token = take();
    switch (token.kind) {
      case Tok::kLiteral: {
        NodePtr node = make(NodeKind::kLiteral, token.offset);
        node->literal = token.value;
        return node;
      }
      case Tok::kIdent:
        if (peek().kind == Tok::kLParen) return parse_call(token);
        {
          NodePtr node = make(NodeKind::kName, token.offset);
          node->name = token.text;
          return node;
        }
      case Tok::kLParen: {
        DepthScope scope(depth_);
        if (too_deep(token.offset)) return nullptr;
        NodePtr inner = parse_or();
        if (!inner) return nullptr;
        if (peek().kind != Tok::kRParen) {
          return error(peek().offset,
                       "expected ')' to close '(', got " + token_description(peek()));
        }
        take();
        return inner;
      }
      case Tok::kEnd:
        return error(token.offset, "expected a value, got end of expression");
      default:
        return error(token.offset, "expected a value, got " + token_description(token));
    }
  }

  NodePtr parse_call(const Token& name) {
    DepthScope scope(depth_);
    take();  // '('
    if (too_deep(name.offset)) return nullptr;
    const FunctionInfo* info = find_function(name.text);
    if (info == nullptr) {
      return error(name.offset, "unknown function '" + name.text + "'" +
                                    did_you_mean(name.text, function_names()));
    }
    NodePtr call = make(NodeKind::kCall, name.offset);
    call->name = name.text;
    if (peek().kind != Tok::kRParen) {
      while (true) {
        NodePtr argument = parse_or();
        if (!argument) return nullptr;
        call->children.push_back(std::move(argument));
        if (peek().kind == Tok::kComma) {
          take();
          continue;
        }
        if (peek().kind == Tok::kRParen) break;
        return error(peek().offset, "expected ',' or ')' in call to " + name.text + "(), got " +
                                        token_description(peek()));
      }
    }
    take();  // ')'
    const std::size_t count = call->children.size();
    if (count < info->min_args || count > info->max_args) {
      std::string expected =
          info->min_args == info->max_args
              ? std::to_string(info->min_args)
              : (info->max_args == kVariadic
                     ? "at least " + std::to_string(info->min_args)
                     : std::to_string(info->min_args) + " or " + std::to_string(info->max_args));
      return error(name.offset, name.text + "() takes " + expected + " argument" +
                                    (expected == "1" ? "" : "s") + ", got " +
                                    std::to_string(count) + " (" + std::string(info->signature) +
                                    ")");
    }
    return adopt(std::move(call));
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::optional<ExprProblem> problem_;
};

tl::expected<NodePtr, ExprProblem> parse(std::string_view expression) {
  if (expression.size() > kMaxExpressionLength) {
    return tl::unexpected(
        ExprProblem{0, "expression is too long (" + std::to_string(expression.size()) +
                           " bytes; the limit is " + std::to_string(kMaxExpressionLength) + ")"});
  }
  auto tokens = Lexer(expression).run();
  if (!tokens) return tl::unexpected(tokens.error());
  if (tokens->size() == 1) return tl::unexpected(ExprProblem{0, "empty expression"});
  return Parser(std::move(*tokens)).run();
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

std::string type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "list";
    case json::value_t::object:
      return "object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number";
    default:
      return "value";
  }
}

std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/") return "/";
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string stem_of(std::string_view path) {
  std::string name = base_name(path);
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return name;
  return name.substr(0, dot);
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

class Evaluator {
 public:
  Evaluator(std::string_view expression, const json& scope)
      : expression_(expression), scope_(scope) {}

  Result<json> eval(const Node& node) {
    switch (node.kind) {
      case NodeKind::kLiteral:
        return node.literal;
      case NodeKind::kName:
        return lookup_root(node);
      case NodeKind::kProperty: {
        auto base = eval(*node.children[0]);
        if (!base) return base;
        return property(*base, node.name);
      }
      case NodeKind::kIndex:
        return index(node);
      case NodeKind::kNot: {
        auto operand = eval(*node.children[0]);
        if (!operand) return operand;
        return json(!truthy(*operand));
      }
      case NodeKind::kBinary:
        return binary(node);
      case NodeKind::kCall:
        return call(node);
    }
    return error("internal error: unknown node");
  }

 private:
  tl::unexpected<Error> error(const std::string& message) const {
    return fail("expression " + quote_for_message(expression_) + ": " + message);
  }

  Result<json> lookup_root(const Node& node) {
    if (scope_.is_object()) {
      auto it = scope_.find(node.name);
      if (it != scope_.end()) return *it;
    }
    if (std::find(kRoots.begin(), kRoots.end(), node.name) != kRoots.end()) return json(nullptr);
    std::vector<std::string> roots(kRoots.begin(), kRoots.end());
    return error("unknown name '" + node.name + "'" + did_you_mean(node.name, roots));
  }

  Result<json> property(const json& base, const std::string& key) {
    if (base.is_null()) return json(nullptr);
    if (!base.is_object()) {
      return error("cannot read property '" + key + "' of a " + type_name(base));
    }
    auto it = base.find(key);
    return it == base.end() ? json(nullptr) : *it;
  }

  Result<json> index(const Node& node) {
    auto base = eval(*node.children[0]);
    if (!base) return base;
    auto key = eval(*node.children[1]);
    if (!key) return key;
    if (base->is_null()) return json(nullptr);
    if (base->is_object()) {
      if (!key->is_string()) {
        return error("an object's index must be a string, got " + type_name(*key));
      }
      return property(*base, key->get<std::string>());
    }
    if (base->is_array()) {
      if (!key->is_number_integer()) {
        return error("a list's index must be an integer, got " + type_name(*key));
      }
      auto position = key->get<std::int64_t>();
      auto size = static_cast<std::int64_t>(base->size());
      if (position < 0) position += size;  // -1 is the last item
      if (position < 0 || position >= size) return json(nullptr);
      return (*base)[static_cast<std::size_t>(position)];
    }
    return error("cannot index a " + type_name(*base));
  }

  Result<json> binary(const Node& node) {
    auto left = eval(*node.children[0]);
    if (!left) return left;
    if (node.op == Tok::kAnd) return truthy(*left) ? eval(*node.children[1]) : left;
    if (node.op == Tok::kOr) return truthy(*left) ? left : eval(*node.children[1]);
    auto right = eval(*node.children[1]);
    if (!right) return right;
    if (node.op == Tok::kEq) return json(*left == *right);
    if (node.op == Tok::kNe) return json(*left != *right);
    bool both_numbers = left->is_number() && right->is_number();
    bool both_strings = left->is_string() && right->is_string();
    if (!both_numbers && !both_strings) {
      return error("cannot compare " + type_name(*left) + " with " + type_name(*right) +
                   " using '" + node.name + "'");
    }
    int order = 0;
    if (both_numbers) {
      double a = left->get<double>();
      double b = right->get<double>();
      order = a < b ? -1 : (a > b ? 1 : 0);
    } else {
      int c = left->get_ref<const std::string&>().compare(right->get_ref<const std::string&>());
      order = c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    switch (node.op) {
      case Tok::kLt:
        return json(order < 0);
      case Tok::kLe:
        return json(order <= 0);
      case Tok::kGt:
        return json(order > 0);
      case Tok::kGe:
        return json(order >= 0);
      default:
        return error("internal error: unknown operator");
    }
  }

  Result<std::string> string_argument(const std::string& function, std::size_t position,
                                      const json& value) {
    if (!value.is_string()) {
      return error(function + "() argument " + std::to_string(position) +
                   " must be a string, got " + type_name(value));
    }
    return value.get<std::string>();
  }

  Result<json> call(const Node& node) {
    std::vector<json> args;
    args.reserve(node.children.size());
    for (const auto& child : node.children) {
      auto value = eval(*child);
      if (!value) return value;
      args.push_back(std::move(*value));
    }
    const std::string& name = node.name;
    if (name == "default") return args[0].is_null() ? args[1] : args[0];
    if (name == "format") return format(args);
    if (name == "join") {
      std::string separator = ",";
      if (args.size() > 1) {
        auto text = string_argument(name, 2, args[1]);
        if (!text) return tl::unexpected(text.error());
        separator = *text;
      }
      if (args[0].is_string()) return args[0];
      if (!args[0].is_array()) {
        return error("join() argument 1 must be a list, got " + type_name(args[0]));
      }
      std::string out;
      for (std::size_t i = 0; i < args[0].size(); ++i) {
        if (i > 0) out += separator;
        out += render_text(args[0][i]);
      }
      return json(out);
    }
    if (name == "basename" || name == "stem") {
      auto path = string_argument(name, 1, args[0]);
      if (!path) return tl::unexpected(path.error());
      return json(name == "basename" ? base_name(*path) : stem_of(*path));
    }
    if (name == "length") {
      if (args[0].is_string()) {
        return json(utf8_length(args[0].get_ref<const std::string&>()));
      }
      if (args[0].is_array() || args[0].is_object()) return json(args[0].size());
      return error("length() needs a string, list or object, got " + type_name(args[0]));
    }
    if (name == "contains") {
      if (args[0].is_array()) {
        return json(std::find(args[0].begin(), args[0].end(), args[1]) != args[0].end());
      }
      if (args[0].is_object()) {
        auto key = string_argument(name, 2, args[1]);
        if (!key) return tl::unexpected(key.error());
        return json(args[0].contains(*key));
      }
      if (!args[0].is_string()) {
        return error("contains() argument 1 must be a string, list or object, got " +
                     type_name(args[0]));
      }
      auto needle = string_argument(name, 2, args[1]);
      if (!needle) return tl::unexpected(needle.error());
      return json(args[0].get_ref<const std::string&>().find(*needle) != std::string::npos);
    }
    if (name == "startsWith" || name == "endsWith") {
      auto text = string_argument(name, 1, args[0]);
      if (!text) return tl::unexpected(text.error());
      auto affix = string_argument(name, 2, args[1]);
      if (!affix) return tl::unexpected(affix.error());
      return json(name == "startsWith" ? text->starts_with(*affix) : text->ends_with(*affix));
    }
    return error("unknown function '" + name + "'");
  }

  // format('{0} and {1}', a, b); '{{' and '}}' stand for literal braces.
  Result<json> format(const std::vector<json>& args) {
    auto pattern = string_argument("format", 1, args[0]);
    if (!pattern) return tl::unexpected(pattern.error());
    std::string out;
    const std::string& text = *pattern;
    for (std::size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
        out.push_back('{');
        ++i;
      } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
        out.push_back('}');
        ++i;
      } else if (c == '{') {
        std::size_t close = text.find('}', i);
        std::size_t position = 0;
        std::string_view digits = close == std::string::npos
                                      ? std::string_view()
                                      : std::string_view(text).substr(i + 1, close - i - 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), position);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
          return error("format(): invalid placeholder at position " + std::to_string(i) +
                       " (write {0}, {1}, ... or {{ for a brace)");
        }
        if (position + 1 >= args.size()) {
          return error("format(): placeholder {" + std::string(digits) + "} has no value (" +
                       std::to_string(args.size() - 1) + " given)");
        }
        out += render_text(args[position + 1]);
        i = close;
      } else if (c == '}') {
        return error("format(): unmatched '}' at position " + std::to_string(i) +
                     " (write }} for a brace)");
      } else {
        out.push_back(c);
      }
    }
    return json(out);
  }

  std::string_view expression_;
  const json& scope_;
};

// ---------------------------------------------------------------------------------------------
// Templates in text
// ---------------------------------------------------------------------------------------------

struct TemplateSpan {
  std::size_t start = 0;       // offset of "${{"
  std::size_t expr_start = 0;  // first byte after "${{"
  std::size_t expr_end = 0;    // offset of "}}"
  std::size_t end = 0;         // first byte after "}}"
};

// Finds the "}}" that closes the template opened at `open`, skipping quoted strings so that
// format('{{0}}') works. nullopt when unterminated.
std::optional<TemplateSpan> find_template(std::string_view text, std::size_t open) {
  TemplateSpan span;
  span.start = open;
  span.expr_start = open + kOpen.size();
  char quote = 0;
  for (std::size_t i = span.expr_start; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      span.expr_end = i;
      span.end = i + kClose.size();
      return span;
    }
  }
  return std::nullopt;
}

ExprProblem unterminated(std::size_t offset) {
  return ExprProblem{offset, "unterminated '${{' (missing '}}')"};
}

// Static reference checks over a parsed tree.
class ReferenceChecker {
 public:
  ReferenceChecker(const ReferenceRules& rules, std::size_t base, std::vector<ExprProblem>& out)
      : rules_(rules), base_(base), out_(out) {}

  void walk(const Node& node) {
    check(node);
    for (const auto& child : node.children) walk(*child);
  }

 private:
  void report(std::size_t offset, std::string message) {
    out_.push_back(ExprProblem{base_ + offset, std::move(message)});
  }

  // The static key a property or index node selects, if any.
  static std::optional<std::string> static_key(const Node& node) {
    if (node.kind == NodeKind::kProperty) return node.name;
    if (node.kind == NodeKind::kIndex && node.children[1]->kind == NodeKind::kLiteral &&
        node.children[1]->literal.is_string()) {
      return node.children[1]->literal.get<std::string>();
    }
    return std::nullopt;
  }
  static std::size_t key_offset(const Node& node) { return node.name_offset; }
  static bool is_name(const Node& node, std::string_view name) {
    return node.kind == NodeKind::kName && node.name == name;
  }
  static bool is_access(const Node& node) {
    return node.kind == NodeKind::kProperty || node.kind == NodeKind::kIndex;
  }

  void check(const Node& node) {
    if (node.kind == NodeKind::kName) {
      if (std::find(kRoots.begin(), kRoots.end(), node.name) == kRoots.end()) {
        std::vector<std::string> roots(kRoots.begin(), kRoots.end());
        report(node.offset, "unknown name '" + node.name + "'" + did_you_mean(node.name, roots) +
                                " (expressions can read trigger, steps, item, env and secrets)");
      } else if (node.name == "item" && !rules_.item_allowed) {
        report(node.offset, "'item' is only available in a step with for_each");
      } else if (node.name == "steps" && !rules_.steps_allowed) {
        report(node.offset, "step outputs are not available here");
      }
      return;
    }
    if (!is_access(node)) return;
    const Node& base = *node.children[0];
    if (is_name(base, "steps") && rules_.steps_allowed) {
      check_step_id(node);
    } else if (is_access(base) && is_name(*base.children[0], "steps") && rules_.steps_allowed) {
      auto id = static_key(base);
      auto key = static_key(node);
      if (id && key && *key != "outputs" && known_step(*id)) {
        report(key_offset(node), "unknown property '" + *key + "' of step '" + *id +
                                     "'; did you mean 'outputs'? (steps." + *id + ".outputs...)");
      }
    }
  }

  bool known_step(const std::string& id) const {
    const auto& earlier = rules_.earlier_step_ids;
    return std::find(earlier.begin(), earlier.end(), id) != earlier.end();
  }

  void check_step_id(const Node& node) {
    auto id = static_key(node);
    if (!id) return;  // computed at run time
    if (known_step(*id)) return;
    const auto& later = rules_.later_step_ids;
    if (*id == rules_.current_step_id && !id->empty()) {
      report(key_offset(node), "step '" + *id + "' cannot read its own outputs");
    } else if (std::find(later.begin(), later.end(), *id) != later.end()) {
      std::string current =
          rules_.current_step_id.empty() ? "" : " runs after '" + rules_.current_step_id + "'";
      report(key_offset(node), "step '" + *id + "'" +
                                   (current.empty() ? " has not run yet" : current) +
                                   "; only earlier steps' outputs can be used");
    } else {
      std::vector<std::string> all = rules_.earlier_step_ids;
      all.insert(all.end(), later.begin(), later.end());
      if (!rules_.current_step_id.empty()) all.push_back(rules_.current_step_id);
      report(key_offset(node), "no step '" + *id + "'" + did_you_mean(*id, all));
    }
  }

  const ReferenceRules& rules_;
  std::size_t base_;
  std::vector<ExprProblem>& out_;
};

}  // namespace

bool has_template(std::string_view text) { return text.find(kOpen) != std::string_view::npos; }

std::string render_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool truthy(const nlohmann::json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return value.get<bool>();
    case json::value_t::number_integer:
      return value.get<std::int64_t>() != 0;
    case json::value_t::number_unsigned:
      return value.get<std::uint64_t>() != 0;
    case json::value_t::number_float: {
      double number = value.get<double>();
      return number != 0 && !std::isnan(number);
    }
    case json::value_t::string:
      return !value.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object:
      return !value.empty();
    default:
      return true;
  }
}

Result<nlohmann::json> evaluate(std::string_view expression, const nlohmann::json& scope) {
  auto tree = parse(expression);
  if (!tree) {
    return fail("expression " + quote_for_message(expression) + ": " + tree.error().message +
                " (at offset " + std::to_string(tree.error().offset) + ")");
  }
  return Evaluator(expression, scope).eval(**tree);
}

Result<nlohmann::json> interpolate(std::string_view text, const nlohmann::json& scope) {
  std::size_t open = text.find(kOpen);
  if (open == std::string_view::npos) return json(std::string(text));

  // Exactly one template, possibly surrounded by whitespace: keep the value's type.
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first == open) {
    auto span = find_template(text, open);
    if (!span) return fail(unterminated(open).message);
    if (span->end == last + 1) {
      return evaluate(text.substr(span->expr_start, span->expr_end - span->expr_start), scope);
    }
  }

  std::string out;
  std::size_t pos = 0;
  while (open != std::string_view::npos) {
    out.append(text.substr(pos, open - pos));
    auto span = find_template(text, open);
    if (!span) {
      return fail(unterminated(open).message + " in " + quote_for_message(text));
    }
    auto value = evaluate(text.substr(span->expr_start, span->expr_end - span->expr_start), scope);
    if (!value) return value;
    out += render_text(*value);
    pos = span->end;
    open = text.find(kOpen, pos);
  }
  out.append(text.substr(pos));
  return json(out);
}

Result<nlohmann::json> interpolate_value(const nlohmann::json& value, const nlohmann::json& scope) {
  // Values come from YAML, whose own nesting is bounded by the parser; recursion is fine here.
  if (value.is_string()) return interpolate(value.get_ref<const std::string&>(), scope);
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) {
      auto resolved = interpolate_value(item, scope);
      if (!resolved) return resolved;
      out.push_back(std::move(*resolved));
    }
    return out;
  }
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [key, item] : value.items()) {
      auto resolved = interpolate_value(item, scope);
      if (!resolved) return resolved;
      out[key] = std::move(*resolved);
    }
    return out;
  }
  return value;
}

namespace {

std::vector<ExprProblem> check_expression_at(std::string_view expression, std::size_t base,
                                             const ReferenceRules& rules) {
  std::vector<ExprProblem> problems;
  auto tree = parse(expression);
  if (!tree) {
    problems.push_back(ExprProblem{base + tree.error().offset, tree.error().message});
    return problems;
  }
  ReferenceChecker(rules, base, problems).walk(**tree);
  return problems;
}

}  // namespace

std::vector<ExprProblem> check_expression(std::string_view expression,
                                          const ReferenceRules& rules) {
  return check_expression_at(expression, 0, rules);
}

Result<bool> evaluate_condition(std::string_view condition, const nlohmann::json& scope) {
  auto value = has_template(condition) ? interpolate(condition, scope) : evaluate(condition, scope);
  if (!value) return tl::unexpected(value.error());
  return truthy(*value);
}

namespace {

// secrets.NAME and secrets['NAME'] in a tree.
void collect_secret_names(const Node& node, std::vector<std::string>& names) {
  const bool access = node.kind == NodeKind::kProperty || node.kind == NodeKind::kIndex;
  if (access && node.children[0]->kind == NodeKind::kName && node.children[0]->name == "secrets") {
    std::optional<std::string> key;
    if (node.kind == NodeKind::kProperty) {
      key = node.name;
    } else if (node.children[1]->kind == NodeKind::kLiteral &&
               node.children[1]->literal.is_string()) {
      key = node.children[1]->literal.get<std::string>();
    }
    if (key && std::find(names.begin(), names.end(), *key) == names.end()) {
      names.push_back(*key);
    }
  }
  for (const auto& child : node.children) collect_secret_names(*child, names);
}

void collect_secret_names(const json& value, std::vector<std::string>& names) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    for (std::size_t open = text.find(kOpen); open != std::string::npos;) {
      auto span = find_template(text, open);
      if (!span) break;
      if (auto tree = parse(std::string_view(text).substr(span->expr_start,
                                                          span->expr_end - span->expr_start))) {
        collect_secret_names(**tree, names);
      }
      open = text.find(kOpen, span->end);
    }
  } else if (value.is_array() || value.is_object()) {
    for (const auto& item : value) collect_secret_names(item, names);
  }
}

}  // namespace

std::vector<std::string> secret_references(const nlohmann::json& value) {
  std::vector<std::string> names;
  collect_secret_names(value, names);
  return names;
}

std::vector<ExprProblem> check_template(std::string_view text, const ReferenceRules& rules) {
  std::vector<ExprProblem> problems;
  std::size_t open = text.find(kOpen);
  while (open != std::string_view::npos) {
    auto span = find_template(text, open);
    if (!span) {
      problems.push_back(unterminated(open));
      break;
    }
    auto found = check_expression_at(
        text.substr(span->expr_start, span->expr_end - span->expr_start), span->expr_start, rules);
    problems.insert(problems.end(), found.begin(), found.end());
    open = text.find(kOpen, span->end);
  }
  return problems;
}

}  // namespace reelflow::workflow
