/* opencases case form: case rules evaluated live, date-times converted to UTC, required
 * fields checked before save.
 *
 * The rules come from the page (<script type="application/json" id="case-rules">) in the
 * API's own shapes. Their evaluation follows services/case_rules_engine.py, which the server
 * runs again on save:
 * - Required / Hidden: the first condition that holds gives the rule's value (its `result`),
 *   else `defaultValue`; an andAll that holds takes its first member's result, an orAll its
 *   first true member's.
 * - FieldOptions: the child select offers only the options mapped to the parent's value
 *   (an unmapped parent value restricts nothing); a child value that is no longer allowed
 *   is cleared.
 * A field that is both hidden and required stays visible: an agent cannot fill a field
 * they cannot see, and the save would be refused. */
(function () {
  "use strict";

  var form = document.getElementById("case-form");
  var dataElement = document.getElementById("case-rules");
  if (!form || !dataElement) return;
  var data = JSON.parse(dataElement.textContent);
  var rules = data.rules || [];
  var fullOptions = {};

  function fieldBox(id) {
    var boxes = form.querySelectorAll(".field[data-field-id]");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].getAttribute("data-field-id") === id) return boxes[i];
    }
    return null;
  }

  function namedInput(box, id) {
    var inputs = box.querySelectorAll("[name]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].name === "f." + id) return inputs[i];
    }
    return null;
  }

  /* The value a field would be saved with, as a FieldValueUnion (null: no value). Fields
   * without a control on the page keep the case's value. */
  function valueOf(id) {
    var box = fieldBox(id);
    if (!box) return data.values[id] || null;
    var type = box.getAttribute("data-type");
    var input = namedInput(box, id);
    if (!input) return null;
    if (type === "Boolean") {
      if (input.checked) return { booleanValue: true };
      // An unchecked box on a field without a value leaves it without one.
      return data.values[id] ? { booleanValue: false } : null;
    }
    var raw = input.value;
    if (raw.trim() === "") return null;
    if (type === "Number") {
      var number = Number(raw);
      return isNaN(number) ? null : { doubleValue: number };
    }
    if (type === "User") return { userArnValue: raw.trim() };
    return { stringValue: type === "Text" ? raw : raw.trim() };
  }

  function present(member) {
    return member !== undefined && member !== null;
  }

  function hasValue(value) {
    if (!value || present(value.emptyValue)) return false;
    return value.stringValue !== "";
  }

  function operandMatches(value, operand) {
    if (present(operand.emptyValue)) return !hasValue(value);
    if (!hasValue(value)) return false;
    if (present(operand.stringValue)) {
      var got = present(value.stringValue) ? value.stringValue : value.userArnValue;
      return present(got) && got === operand.stringValue;
    }
    if (present(operand.booleanValue)) {
      return typeof value.booleanValue === "boolean" && value.booleanValue === operand.booleanValue;
    }
    if (present(operand.doubleValue)) {
      return typeof value.doubleValue === "number" && value.doubleValue === Number(operand.doubleValue);
    }
    return false;
  }

  /* [whether the condition holds, the rule value it dictates when it does (or null)] */
  function evaluate(condition) {
    var kinds = ["equalTo", "notEqualTo"];
    for (var i = 0; i < kinds.length; i++) {
      var operands = condition[kinds[i]];
      if (operands) {
        var fieldId = (operands.operandOne || {}).fieldId;
        var equal = operandMatches(fieldId ? valueOf(fieldId) : null, operands.operandTwo || {});
        var result = present(operands.result) ? operands.result : null;
        return [kinds[i] === "equalTo" ? equal : !equal, result];
      }
    }
    var parts, chosen = null;
    if (condition.andAll) {
      parts = (condition.andAll.conditions || []).map(evaluate);
      parts.forEach(function (p) { if (chosen === null && p[1] !== null) chosen = p[1]; });
      return [parts.every(function (p) { return p[0]; }), chosen];
    }
    if (condition.orAll) {
      parts = (condition.orAll.conditions || []).map(evaluate).filter(function (p) { return p[0]; });
      parts.forEach(function (p) { if (chosen === null && p[1] !== null) chosen = p[1]; });
      return [parts.length > 0, chosen];
    }
    return [false, null];
  }

  function ruleValue(rule) {
    var conditions = rule.conditions || [];
    for (var i = 0; i < conditions.length; i++) {
      var outcome = evaluate(conditions[i]);
      if (outcome[0]) return outcome[1] === null ? true : Boolean(outcome[1]);
    }
    return Boolean(rule.defaultValue);
  }

  function allowedChildValues(rule) {
    var parent = valueOf(rule.parentFieldId || "");
    var parentValue = hasValue(parent) && present(parent.stringValue) ? parent.stringValue : "";
    var mappings = rule.parentChildFieldOptionsMappings || [];
    for (var i = 0; i < mappings.length; i++) {
      if (mappings[i].parentFieldOptionValue === parentValue) return mappings[i].childFieldOptionValues || [];
    }
    return null;
  }

  function narrow(childId, allowed) {
    var box = fieldBox(childId);
    var select = box ? box.querySelector("select") : null;
    if (!select) return;
    if (!fullOptions[childId]) {
      fullOptions[childId] = Array.prototype.map.call(select.options, function (o) {
        return { value: o.value, text: o.textContent };
      });
    }
    var current = select.value;
    var keep = fullOptions[childId].filter(function (o) {
      return o.value === "" || allowed === null || allowed.indexOf(o.value) >= 0;
    });
    var shown = Array.prototype.map.call(select.options, function (o) { return o.value; }).join("\n");
    if (shown !== keep.map(function (o) { return o.value; }).join("\n")) {
      while (select.firstChild) select.removeChild(select.firstChild);
      keep.forEach(function (o) {
        var option = document.createElement("option");
        option.value = o.value;
        option.textContent = o.text;
        select.appendChild(option);
      });
    }
    var stillAllowed = keep.some(function (o) { return o.value === current; });
    select.value = stillAllowed ? current : "";
  }

  function applyRules() {
    // Options first: clearing a child value can change what the other rules see.
    var allowed = {};
    rules.forEach(function (entry) {
      var options = (entry.rule || {}).fieldOptions;
      if (!options) return;
      var child = options.childFieldId || entry.fieldId;
      var values = allowedChildValues(options);
      if (!(child in allowed)) allowed[child] = values;
      else if (values !== null) {
        allowed[child] = allowed[child] === null ? values : allowed[child].filter(function (v) {
          return values.indexOf(v) >= 0;
        });
      }
    });
    Object.keys(allowed).forEach(function (child) { narrow(child, allowed[child]); });

    var required = {}, hidden = {};
    (data.required || []).forEach(function (id) { required[id] = true; });
    rules.forEach(function (entry) {
      var rule = entry.rule || {};
      if (!entry.fieldId) return;
      if (rule.required && ruleValue(rule.required)) required[entry.fieldId] = true;
      if (rule.hidden && ruleValue(rule.hidden)) hidden[entry.fieldId] = true;
    });
    form.querySelectorAll(".field[data-field-id]").forEach(function (box) {
      var id = box.getAttribute("data-field-id");
      var isRequired = Boolean(required[id]);
      box.setAttribute("data-required", isRequired ? "true" : "false");
      var marker = box.querySelector(".req");
      if (marker) marker.hidden = !isRequired;
      box.hidden = Boolean(hidden[id]) && !isRequired;
    });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function toLocalInput(moment) {
    return moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) +
      "T" + pad(moment.getHours()) + ":" + pad(moment.getMinutes());
  }

  // datetime-local shows and takes local wall time; the API stores ISO-8601 UTC.
  form.querySelectorAll("input[data-iso-target]").forEach(function (input) {
    var hidden = document.getElementById(input.getAttribute("data-iso-target"));
    var iso = input.getAttribute("data-iso");
    if (iso) {
      var moment = new Date(iso);
      if (!isNaN(moment.getTime())) input.value = toLocalInput(moment);
    }
    input.addEventListener("change", function () {
      var local = input.value ? new Date(input.value) : null;
      hidden.value = local && !isNaN(local.getTime()) ? local.toISOString() : "";
      applyRules();
    });
  });

  function setError(box, message) {
    var slot = box.querySelector(".field-error");
    if (slot) slot.textContent = message;
    box.classList.toggle("has-error", Boolean(message));
  }

  form.addEventListener("input", function (event) {
    var box = event.target.closest(".field[data-field-id]");
    if (box && box.classList.contains("has-error")) setError(box, "");
    applyRules();
  });
  form.addEventListener("change", applyRules);

  form.addEventListener("submit", function (event) {
    applyRules();
    var missing = [];
    form.querySelectorAll(".field[data-field-id]").forEach(function (box) {
      var id = box.getAttribute("data-field-id");
      if (box.getAttribute("data-required") === "true" && !hasValue(valueOf(id))) {
        setError(box, "This field is required.");
        missing.push(box);
      }
    });
    var status = document.getElementById("form-status");
    if (missing.length) {
      event.preventDefault();
      if (status) status.textContent = "Fill in the required fields to save.";
      var first = missing[0].querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    } else if (status) {
      status.textContent = "";
    }
  });

  applyRules();
})();
