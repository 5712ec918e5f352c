#include "jinja/jinja.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gemma/error.h"
#include "support/paths.h"

namespace {

using Json = nlohmann::ordered_json;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::Matches;
using Catch::Matchers::StartsWith;
using gemma::jinja::Template;

Json load_cases() {
  std::ifstream in(gemma::test::data_dir() / "golden" / "jinja_cases.json", std::ios::binary);
  REQUIRE(in);
  return Json::parse(in);
}

std::string render(std::string_view source, const Json& context = Json::object()) {
  return Template::parse(source).render(context);
}

// The message of the ProcessorError that rendering throws ("" if it does not throw).
std::string error_of(std::string_view source, const Json& context = Json::object()) {
  try {
    render(source, context);
  } catch (const gemma::ProcessorError& e) {
    return e.what();
  }
  return "";
}

// jinja2 reports syntax and compile errors by their text; runtime errors here carry the Python
// exception class, as in "TypeError: ...".
std::string expected_message(const Json& c) {
  const std::string type = c["error_type"];
  const std::string message = c["error"];
  if (type == "TemplateSyntaxError" || type == "TemplateAssertionError") return message;
  return type + ": " + message;
}

void check_case(const Json& c) {
  const std::string name = c["name"];
  INFO("case " << name << "\ntemplate: " << c["template"].get<std::string>());
  if (c.contains("output")) {
    std::string out;
    try {
      out = render(c["template"].get<std::string>(), c["context"]);
    } catch (const std::exception& e) {
      FAIL_CHECK("threw " << e.what());
      return;
    }
    CHECK(out == c["output"].get<std::string>());
    return;
  }
  const std::string what = error_of(c["template"].get<std::string>(), c["context"]);
  REQUIRE_FALSE(what.empty());
  if (c.contains("error_line")) {
    CHECK_THAT(what, Contains(fmt::format("chat template line {},", c["error_line"].get<int>())));
  }
  if (c.value("check_message", true)) CHECK_THAT(what, EndsWith(": " + expected_message(c)));
}

}  // namespace

TEST_CASE("jinja renders every reference case byte for byte as jinja2 does", "[unit][jinja]") {
  const Json cases = load_cases();
  REQUIRE(cases.size() >= 120);
  for (const auto& c : cases) check_case(c);
}

TEST_CASE("jinja renders the same parsed template with different contexts", "[unit][jinja]") {
  const Template t = Template::parse("{% for m in messages %}{{ m }};{% endfor %}");
  CHECK(t.render(Json{{"messages", {1, 2}}}) == "1;2;");
  CHECK(t.render(Json{{"messages", {"a"}}}) == "a;");
  const Template copy = t;
  CHECK(copy.render(Json{{"messages", Json::array()}}).empty());
}

TEST_CASE("jinja errors name the line and column", "[unit][jinja]") {
  SECTION("syntax error") {
    CHECK(error_of("{{ 1 }}\n  {{ x } }}") ==
          "[gemma.processor] chat template line 2, column 8: unexpected '}'");
  }
  SECTION("unsupported tag") {
    CHECK(error_of("ok\n{% include 'other.jinja' %}") ==
          "[gemma.processor] chat template line 2, column 4: tag 'include' is not supported");
  }
  SECTION("unsupported filter, reported when evaluated") {
    const std::string source = "{% if x %}\n  {{ x | wordwrap(10) }}\n{% endif %}";
    CHECK(render(source, Json{{"x", false}}).empty());
    CHECK(error_of(source, Json{{"x", "text"}}) ==
          "[gemma.processor] chat template line 2, column 10: filter 'wordwrap' is not supported");
  }
  SECTION("unsupported test") {
    CHECK_THAT(error_of("{{ x is escaped }}"),
               EndsWith("column 9: test 'escaped' is not supported"));
  }
  SECTION("unsupported str method") {
    CHECK_THAT(error_of("{{ '7'.zfill(3) }}"),
               EndsWith("column 4: str method 'zfill' is not supported"));
  }
  SECTION("unsupported global") {
    CHECK_THAT(error_of("{% set c = cycler('a') %}"), EndsWith("global 'cycler' is not supported"));
  }
  SECTION("recursive loops") {
    CHECK_THAT(error_of("{% for x in y recursive %}{% endfor %}"),
               EndsWith("column 15: recursive loops are not supported"));
  }
  SECTION("runtime error points at the expression") {
    CHECK(error_of("a\nb {{ m.content.strip() }}", Json{{"m", Json::object()}}) ==
          "[gemma.processor] chat template line 2, column 6: UndefinedError: 'dict object' has no "
          "attribute 'content'");
  }
  SECTION("columns count code points") {
    CHECK_THAT(error_of("é {{ ! }}"), Contains("line 1, column 6:"));
  }
  SECTION("the template's name") {
    try {
      Template::parse("{{", "tmpl.jinja");
      FAIL("no error");
    } catch (const gemma::ProcessorError& e) {
      CHECK_THAT(e.what(), Contains("tmpl.jinja line 1, column 3:"));
    }
  }
}

TEST_CASE("jinja raise_exception says the message came from the template, and where",
          "[unit][jinja]") {
  CHECK(error_of("{{ raise_exception('Only user and assistant roles are supported!') }}") ==
        "[gemma.processor] chat template line 1, column 4: TemplateError: Only user and assistant "
        "roles are supported!");
  CHECK(error_of("x\n{{ raise_exception(42) }}") ==
        "[gemma.processor] chat template line 2, column 4: TemplateError: 42");
}

TEST_CASE("jinja strftime_now formats the local time", "[unit][jinja]") {
  CHECK_THAT(render("{{ strftime_now('%Y-%m-%d') }}"), Matches(R"(\d{4}-\d{2}-\d{2})"));
  CHECK(render("[{{ strftime_now('') }}]") == "[]");
}

TEST_CASE("jinja refuses what would exhaust the stack or memory", "[unit][jinja]") {
  SECTION("deeply nested expressions") {
    const std::string deep = "{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}";
    CHECK_THAT(error_of(deep), EndsWith("template nested too deeply"));
  }
  SECTION("deeply nested blocks") {
    std::string deep;
    for (int i = 0; i < 300; ++i) deep += "{% if true %}";
    CHECK_THAT(error_of(deep), EndsWith("template nested too deeply"));
  }
  SECTION("unbounded macro recursion") {
    CHECK_THAT(error_of("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"),
               Contains("RecursionError: maximum recursion depth exceeded"));
  }
  // Found by fuzzing: operator chains deepen the tree without brackets, and a deep expression in
  // a recursive macro nests 100 times deeper than either limit alone.
  SECTION("long operator chains") {
    std::string chain = "{{ 0";
    for (int i = 0; i < 300; ++i) chain += " + 0";
    CHECK_THAT(error_of(chain + " }}"), EndsWith("template nested too deeply"));
    chain.resize(4 + 150 * 4);
    CHECK(render(chain + " }}") == "0");
  }
  SECTION("deep expressions in a recursive macro") {
    std::string sum = "(m(n - 1) | length)";
    for (int i = 0; i < 100; ++i) sum += " + 0";
    CHECK_THAT(error_of("{% macro m(n) %}{% if n > 0 and " + sum +
                        " %}{% endif %}{% endmacro %}{{ m(99) }}"),
               Contains("RecursionError: maximum recursion depth exceeded (statements, "
                        "expressions and macro calls nested 3000 deep)"));
  }
  SECTION("values nested in a loop") {
    CHECK_THAT(error_of("{% set ns = namespace(v=[]) %}{% for i in range(1000) %}"
                        "{% set ns.v = [ns.v] %}{% endfor %}"),
               Contains("values nested too deeply"));
  }
  SECTION("deeply nested JSON input") {
    Json v = Json::array();
    for (int i = 0; i < 600; ++i) v = Json::array({v});
    CHECK_THROWS_AS(render("{{ v }}", Json{{"v", v}}), gemma::InvalidArgumentError);
  }
  SECTION("huge repetitions") {
    CHECK_THAT(error_of("{{ 'x' * 1000000000000 }}"),
               Contains("TemplateBudgetError: a string of 1000000000000 bytes"));
    CHECK_THAT(error_of("{{ ['x'] * 1000000000000 }}"), Contains("TemplateBudgetError"));
  }
  SECTION("integers beyond 64 bits") {
    CHECK_THAT(error_of("{{ 2 ** 64 }}"), Contains("OverflowError"));
    CHECK_THAT(error_of("{{ 99999999999999999999 }}"), Contains("integer literal too large"));
  }
}

// A template must fail, within its budget, however it tries to run away.
void check_budget_stops(const std::string& source, const std::string& limit,
                        const gemma::TemplateLimits& limits = {}) {
  INFO(source);
  try {
    Template::parse(source).render(Json::object(), limits);
    FAIL_CHECK("no error");
  } catch (const gemma::ProcessorError& e) {
    CHECK_THAT(e.what(), StartsWith("[gemma.processor] chat template line 1, column "));
    CHECK_THAT(e.what(), Contains(limit));
  }
}

TEST_CASE("jinja stops runaway templates within their budget", "[unit][jinja]") {
  // String doubling in a loop: the work budget stops it; with work unbounded, the string size.
  const std::string doubling =
      "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}"
      "{% endfor %}";
  check_budget_stops(doubling, "TemplateLimits::max_work");
  gemma::TemplateLimits unbounded_work;
  unbounded_work.max_work = UINT64_MAX;
  check_budget_stops(doubling, "TemplateLimits::max_output_bytes", unbounded_work);
  // List doubling: no single string is big, the work is.
  check_budget_stops(
      "{% set ns = namespace(l=['x']) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}"
      "{% endfor %}",
      "TemplateLimits::max_work");
  // Nested range() loops: 10^10 iterations of nothing.
  check_budget_stops(
      "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
      "TemplateLimits::max_work");
  // Shared sub-lists print exponentially large.
  check_budget_stops(
      "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
      "{% endfor %}{{ ns.l }}",
      "TemplateLimits::max_output_bytes");
  // ... and compare in exponential time without allocating.
  check_budget_stops(
      "{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(60) %}"
      "{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}",
      "TemplateLimits::max_work");
  check_budget_stops(
      "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
      "{% endfor %}{{ ns.l | tojson }}",
      "TemplateLimits::max_output_bytes");
  // Output alone.
  check_budget_stops("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
                     "TemplateLimits::max_output_bytes");
}

TEST_CASE("jinja budgets are settable", "[unit][jinja]") {
  gemma::TemplateLimits small;
  small.max_output_bytes = 10;
  CHECK(Template::parse("{{ 'x' * 10 }}").render(Json::object(), small) == "xxxxxxxxxx");
  check_budget_stops("{{ 'x' * 11 }}", "a string of 11 bytes exceeds the 10-byte limit", small);
  small = {};
  small.max_work = 1000;
  check_budget_stops("{% for i in range(1000) %}{% endfor %}", "more than 1000 units", small);
  small = {};
  small.max_call_depth = 3;
  check_budget_stops("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
                     "3 nested macro calls", small);
}

TEST_CASE("jinja keeps self-referencing namespaces and macros without leaking", "[unit][jinja]") {
  // LeakSanitizer would report the reference cycles if rendering did not break them.
  CHECK(render("{% set ns = namespace() %}{% set ns.me = ns %}{% macro m() %}x{% endmacro %}"
               "{% set ns.m = m %}{{ ns.m() }}") == "x");
}

TEST_CASE("jinja keeps bytes that are not UTF-8", "[unit][jinja]") {
  const std::string raw = "a\xff\xfe b";
  CHECK(render("{{ s }}|{{ s|length }}|{{ s|upper }}", Json{{"s", "x"}}) == "x|1|X");
  CHECK(Template::parse(raw + "{{ 1 }}").render(Json::object()) == raw + "1");
}

TEST_CASE("jinja context must be an object", "[unit][jinja]") {
  CHECK_THROWS_AS(Template::parse("x").render(Json::array()), gemma::InvalidArgumentError);
}
