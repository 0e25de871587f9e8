// The prescription editor: keyboard-first herb rows, live audit warnings, submit to the API.
// No framework, no inline script (the page's Content-Security-Policy forbids inline code).
(function () {
  "use strict";

  const form = document.getElementById("editor");
  if (!form) return;
  const tbody = document.querySelector("#rows tbody");
  const template = document.getElementById("row-template");
  const initial = JSON.parse(document.getElementById("editor-initial").textContent);
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const blockReasons = {}; // finding key -> reason typed by the clinician
  let precheckTimer = null;
  let precheckSeq = 0;
  let submitting = false;

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  async function api(url, body, method) {
    const response = await fetch(url, {
      method: method || "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return { status: response.status, data };
  }

  // ---- combobox (WAI-ARIA APG "combobox with listbox popup") ----------------------------------
  // The input keeps the focus; the highlighted option is named by aria-activedescendant and marked
  // aria-selected (the stylesheet also outlines it, so the highlight is not colour alone).
  let listSeq = 0;

  function comboInit(input, list) {
    if (!list.id) list.id = "listbox-" + (++listSeq);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
  }

  function comboOptions(list) { return Array.from(list.querySelectorAll("[role=option]")); }

  function comboHighlight(input, list, index) {
    comboOptions(list).forEach((li, i) => {
      li.setAttribute("aria-selected", String(i === index));
      li.classList.toggle("active", i === index);
      if (i === index) {
        input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function comboActive(list) {
    const options = comboOptions(list);
    const index = options.findIndex((li) => li.getAttribute("aria-selected") === "true");
    return index;
  }

  function comboOpen(input, list) {
    const options = comboOptions(list);
    options.forEach((li, i) => { li.id = list.id + "-" + i; });
    list.hidden = options.length === 0;
    input.setAttribute("aria-expanded", String(!list.hidden));
    if (options.length) comboHighlight(input, list, 0);
    else input.removeAttribute("aria-activedescendant");
  }

  function comboClose(input, list) {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function comboMove(input, list, down) {
    const options = comboOptions(list);
    let index = comboActive(list);
    index = down ? Math.min(index + 1, options.length - 1) : Math.max(index - 1, 0);
    comboHighlight(input, list, index);
  }

  // ---- rows -------------------------------------------------------------------------------------
  function rows() { return Array.from(tbody.querySelectorAll("tr.herb-row")); }

  function renumber() {
    rows().forEach((row, index) => { row.querySelector(".pos").textContent = index + 1; });
  }

  let rowSeq = 0;

  function addRow(data, focus) {
    const row = template.content.firstElementChild.cloneNode(true);
    const herb = row.querySelector(".herb");
    const grams = row.querySelector(".grams");
    const instruction = row.querySelector(".instruction");
    // Ids for the row's fields, errors and position: each field is named by its visible column
    // header and the row's number ("Herb 3"), and an error can point at its field.
    const n = ++rowSeq;
    row.querySelector(".pos").id = "row-pos-" + n;
    [[herb, "herb"], [grams, "grams"], [instruction, "instruction"]].forEach(([field, name]) => {
      field.id = name + "-" + n;
      field.setAttribute("aria-labelledby", "col-" + name + " row-pos-" + n);
      const error = field.parentElement.querySelector(".error");
      if (error) error.id = field.id + "-error";
    });
    comboInit(herb, row.querySelector(".suggestions"));
    if (data) {
      herb.value = data.herb || "";
      row.dataset.name = data.herb || "";
      grams.value = data.grams || "";
      instruction.value = data.instruction || "";
      if (data.written_amount) {
        // A formula's count (大枣 3枚) came in as grams: the amount as written stays in sight.
        const written = document.createElement("small");
        written.className = "help written-amount";
        written.textContent = (form.dataset.labelWritten || "") + " " + data.written_amount;
        grams.after(written);
      }
    }
    wireRow(row);
    tbody.appendChild(row);
    renumber();
    if (focus) herb.focus();
    return row;
  }

  function removeRow(row) {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    if (!rows().length) addRow(null, true);
    else if (next) next.querySelector(".herb").focus();
    renumber();
    schedulePrecheck();
  }

  function moveRow(row, up) {
    const sibling = up ? row.previousElementSibling : row.nextElementSibling;
    if (!sibling) return;
    if (up) tbody.insertBefore(row, sibling);
    else tbody.insertBefore(sibling, row);
    renumber();
    row.querySelector(".herb").focus();
  }

  function pick(row, herb) {
    const input = row.querySelector(".herb");
    input.value = herb.name;
    row.dataset.name = herb.name;
    row.dataset.price = herb.price_per_g || "0";
    if (herb.special_decoction && ["decoct_first", "add_later", "wrap", "melt", "decoct_separately", "infuse"].includes(herb.special_decoction)) {
      row.querySelector(".instruction").value = herb.special_decoction;
    }
    hideSuggestions(row);
    row.querySelector(".grams").focus();
    schedulePrecheck();
  }

  function hideSuggestions(row) {
    const list = row.querySelector(".suggestions");
    comboClose(row.querySelector(".herb"), list);
    list.innerHTML = "";
  }

  function showSuggestions(row, herbs) {
    const list = row.querySelector(".suggestions");
    list.innerHTML = "";
    herbs.forEach((herb, index) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.index = index;
      li.dataset.name = herb.name;
      const name = document.createElement("span");
      name.className = "s-name";
      name.textContent = herb.name + (herb.matched_alias ? "（" + herb.matched_alias + "）" : "");
      li.appendChild(name);
      if (herb.base_herb && herb.base_herb !== herb.name) {
        // A processed form shows what it is processed from, so 生/制/炙 forms are told apart.
        const processed = document.createElement("small");
        processed.className = "s-form";
        processed.textContent = " 〔" + herb.base_herb + (herb.processing ? "·" + herb.processing : "") + "〕";
        processed.title = (form.dataset.labelProcessed || "") + " " + herb.base_herb;
        li.appendChild(processed);
      }
      if (herb.toxic) {
        const mark = document.createElement("span");
        mark.className = "toxic-mark";
        mark.setAttribute("role", "img");
        mark.setAttribute("aria-label", form.dataset.labelToxic || "toxic");
        mark.title = form.dataset.labelToxic || "";
        mark.textContent = form.dataset.labelToxicShort || "!";
        li.classList.add("toxic");
        li.appendChild(mark);
      }
      const pinyin = document.createElement("small");
      pinyin.className = "s-pinyin";
      pinyin.textContent = "  " + herb.pinyin;
      li.appendChild(pinyin);
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(row, herb); });
      list.appendChild(li);
    });
    row._herbs = herbs;
    comboOpen(row.querySelector(".herb"), list);
  }

  const searchHerbs = debounce(async (row, query) => {
    if (!query) { hideSuggestions(row); return; }
    const url = form.dataset.herbsUrl + "?page_size=8&q=" + encodeURIComponent(query);
    const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    if (row.querySelector(".herb").value.trim() === query) showSuggestions(row, data.results || []);
  }, 120);

  function wireRow(row) {
    const herb = row.querySelector(".herb");
    const grams = row.querySelector(".grams");
    herb.addEventListener("input", () => {
      delete row.dataset.name;
      searchHerbs(row, herb.value.trim());
    });
    herb.addEventListener("blur", () => setTimeout(() => hideSuggestions(row), 150));
    herb.addEventListener("keydown", (event) => {
      const list = row.querySelector(".suggestions");
      const options = comboOptions(list);
      const active = comboActive(list);
      if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !event.altKey && options.length && !list.hidden) {
        event.preventDefault();
        comboMove(herb, list, event.key === "ArrowDown");
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (!list.hidden && row._herbs && row._herbs.length) {
          pick(row, row._herbs[Math.max(active, 0)]);
        } else if (row.dataset.name) {
          grams.focus();
        }
      } else if (event.key === "Escape") {
        hideSuggestions(row);
      }
    });
    grams.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        const next = row.nextElementSibling;
        if (next) next.querySelector(".herb").focus();
        else addRow(null, true);
      }
    });
    row.addEventListener("keydown", (event) => {
      if (event.altKey && event.key === "ArrowUp") { event.preventDefault(); moveRow(row, true); }
      if (event.altKey && event.key === "ArrowDown") { event.preventDefault(); moveRow(row, false); }
      if (event.altKey && (event.key === "Delete" || event.key === "Backspace")) { event.preventDefault(); removeRow(row); }
    });
    grams.addEventListener("input", schedulePrecheck);
    row.querySelector(".instruction").addEventListener("change", schedulePrecheck);
    row.querySelector(".remove").addEventListener("click", () => removeRow(row));
    row.querySelector(".up").addEventListener("click", () => moveRow(row, true));
    row.querySelector(".down").addEventListener("click", () => moveRow(row, false));
  }

  // ---- formulas ---------------------------------------------------------------------------------
  const formulaInput = document.getElementById("formula-search");
  const formulaList = document.getElementById("formula-suggestions");
  let formulas = [];
  let pickedFormula = null;

  comboInit(formulaInput, formulaList);

  const searchFormulas = debounce(async (query) => {
    if (!query) { comboClose(formulaInput, formulaList); return; }
    const response = await fetch(form.dataset.formulasUrl + "?page_size=8&q=" + encodeURIComponent(query),
      { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    formulas = (await response.json()).results || [];
    formulaList.innerHTML = "";
    formulas.forEach((formula, index) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.index = index;
      li.textContent = formula.label + "（" + formula.kind_label + "）";
      li.addEventListener("mousedown", (event) => { event.preventDefault(); useFormula(formula); });
      formulaList.appendChild(li);
    });
    comboOpen(formulaInput, formulaList);
  }, 150);

  function useFormula(formula) {
    pickedFormula = formula;
    rows().filter((row) => !row.dataset.name && !row.querySelector(".grams").value).forEach((row) => row.remove());
    formula.items.forEach((item) => {
      const row = addRow(item, false);
      row.dataset.name = item.herb;
    });
    addRow(null, false);
    comboClose(formulaInput, formulaList);
    formulaInput.value = "";
    document.getElementById("formula-picked").textContent = formula.kind_label + "：" + formula.label
      + (formula.source ? "（" + formula.source.split("；").pop() + "）" : "");
    if (formula.usage && !value("usage")) form.querySelector("[name=usage]").value = formula.usage;
    const first = rows()[0];
    if (first) first.querySelector(".grams").focus();
    schedulePrecheck();
  }

  formulaInput.addEventListener("input", () => searchFormulas(formulaInput.value.trim()));
  formulaInput.addEventListener("keydown", (event) => {
    const options = comboOptions(formulaList);
    const active = comboActive(formulaList);
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && options.length && !formulaList.hidden) {
      event.preventDefault();
      comboMove(formulaInput, formulaList, event.key === "ArrowDown");
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (formulas.length && !formulaList.hidden) useFormula(formulas[Math.max(active, 0)]);
    } else if (event.key === "Escape") {
      comboClose(formulaInput, formulaList);
    }
  });
  formulaInput.addEventListener("blur", () => setTimeout(() => comboClose(formulaInput, formulaList), 150));

  document.getElementById("save-formula").addEventListener("click", async () => {
    const name = document.getElementById("formula-name").value.trim();
    const saved = document.getElementById("formula-saved");
    const { status, data } = await api(form.dataset.formulasUrl, { name, items: items(true), usage: value("usage") });
    saved.textContent = status === 201 ? "✓ " + data.label
      : Object.values(data.errors || {}).flat().join(" ") || data.detail || String(status);
  });

  // ---- copy one of the patient's earlier prescriptions, then edit ------------------------------
  const copies = JSON.parse(document.getElementById("editor-copies").textContent || "{}");

  function setField(name, text) {
    const fields = form.querySelectorAll(`[name="${name}"]`);
    fields.forEach((field) => {
      if (field.type === "radio") field.checked = field.value === text;
      else field.value = text;
    });
  }

  function usePrevious(button) {
    const copy = copies[button.dataset.copy];
    if (!copy) return;
    rows().forEach((row) => row.remove());
    copy.items.forEach((item) => addRow(item, false));
    addRow(null, false);
    pickedFormula = null;
    setField("doses", String(copy.doses));
    setField("usage", copy.usage);
    setField("decoction", copy.decoction);
    setField("delivery", copy.delivery);
    if (!value("consult.tcm_disease")) setField("consult.tcm_disease", copy.tcm_disease);
    if (!value("consult.tcm_syndrome")) setField("consult.tcm_syndrome", copy.tcm_syndrome || "");
    document.getElementById("formula-picked").textContent = button.textContent;
    const first = rows()[0];
    if (first) first.querySelector(".grams").focus();
    schedulePrecheck();
  }

  form.querySelectorAll(".copy-previous").forEach((button) => button.addEventListener("click", () => usePrevious(button)));

  // ---- payload ----------------------------------------------------------------------------------
  function value(name) {
    const field = form.querySelector(`[name="${name}"]`);
    if (!field) return "";
    if (field.type === "radio") {
      const checked = form.querySelector(`[name="${name}"]:checked`);
      return checked ? checked.value : "";
    }
    if (field.type === "checkbox") return field.checked;
    return field.value.trim();
  }

  function rowItem(row) {
    return {
      herb: row.dataset.name || row.querySelector(".herb").value.trim(),
      grams: row.querySelector(".grams").value.trim(),
      instruction: row.querySelector(".instruction").value,
    };
  }

  function completeRows() {
    return rows().filter((row) => row.dataset.name && Number(row.querySelector(".grams").value.trim()) > 0);
  }

  function items(completeOnly) {
    if (completeOnly) return completeRows().map(rowItem);
    return rows().map(rowItem).filter((item) => item.herb || item.grams);
  }

  function payload() {
    const consult = {};
    form.querySelectorAll("[name^='consult.']").forEach((field) => {
      const key = field.name.slice("consult.".length);
      if (field.value.trim() !== "") consult[key] = field.value.trim();
    });
    return {
      patient: Number(form.dataset.patient),
      consult,
      items: items(false),
      doses: Number(value("doses")) || 0,
      usage: value("usage"),
      decoction: value("decoction"),
      delivery: value("delivery"),
      delivery_address: value("delivery_address"),
      notes: value("notes"),
      urgent: value("urgent"),
      formula: pickedFormula ? pickedFormula.id : null,
      idempotency_key: form.dataset.idempotencyKey,
    };
  }

  // ---- live warnings ----------------------------------------------------------------------------
  function schedulePrecheck() {
    clearTimeout(precheckTimer);
    precheckTimer = setTimeout(precheck, 250);
    updateLinePrices();
  }

  function updateLinePrices() {
    // Until the check answers, a row whose price per gram is known (picked from the list) shows
    // its estimate; the check then sets every complete row's price, however the row came in.
    const doses = Number(value("doses")) || 0;
    rows().forEach((row) => {
      const grams = Number(row.querySelector(".grams").value) || 0;
      const cell = row.querySelector(".line-price");
      if (!row.dataset.name || !grams) cell.textContent = "";
      else if (row.dataset.price) cell.textContent = (Number(row.dataset.price) * grams * doses).toFixed(2);
    });
  }

  async function precheck() {
    const checked = completeRows();
    const seq = ++precheckSeq;
    if (!checked.length) { renderFindings([]); return; }
    const body = { ...payload(), items: checked.map(rowItem), doses: Number(value("doses")) || 1 };
    const { status, data } = await api(form.dataset.precheckUrl, body);
    if (seq !== precheckSeq) return; // a newer check is on its way
    if (status === 200) {
      renderFindings(data.findings);
      Object.entries(data.price).forEach(([key, amount]) => {
        const cell = form.querySelector(`[data-price="${key}"]`);
        if (cell && key !== "lines") cell.textContent = amount;
      });
      (data.price.lines || []).forEach((line, index) => {
        if (checked[index]) checked[index].querySelector(".line-price").textContent = line;
      });
    }
  }

  function findingKey(finding) { return finding.code + ":" + finding.herbs.join("+"); }

  const findingTitles = JSON.parse(document.getElementById("finding-titles").textContent);
  let excerptSeq = 0;

  async function herbExcerpt(name) {
    // The herb as the finding names it (a catalogue name or an alias): its 药典 text.
    const url = form.dataset.herbsUrl + "?page_size=5&q=" + encodeURIComponent(name);
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return "";
    const herb = ((await response.json()).results || []).find((h) => h.name === name || h.matched_alias === name);
    return herb ? herb.pharmacopoeia_excerpt || "" : "";
  }

  function excerptButton(name, box) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "excerpt-toggle";
    button.textContent = name + " · " + (box.dataset.excerptLabel || "");
    button.setAttribute("aria-expanded", "false");
    const quote = document.createElement("blockquote");
    quote.className = "excerpt";
    quote.id = "excerpt-" + (++excerptSeq);
    quote.hidden = true;
    button.setAttribute("aria-controls", quote.id);
    button.addEventListener("click", async () => {
      const open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", String(!open));
      quote.hidden = open;
      if (!open && !quote.dataset.loaded) {
        const text = await herbExcerpt(name);
        quote.textContent = text || box.dataset.noExcerpt || "";
        quote.dataset.loaded = "1";
      }
    });
    return [button, quote];
  }

  function renderFindings(findings) {
    const box = document.getElementById("findings");
    box.innerHTML = "";
    if (!findings.length) {
      const p = document.createElement("p");
      p.className = "ok";
      p.textContent = box.dataset.clean || "✓";
      box.appendChild(p);
    }
    findings.forEach((finding) => {
      const div = document.createElement("div");
      div.className = "finding sev-" + finding.severity;
      div.dataset.code = finding.code;
      const strong = document.createElement("strong");
      strong.className = "finding-title";
      strong.textContent = findingTitles[finding.code] || finding.code;
      const message = document.createElement("span");
      message.textContent = " " + finding.message;
      const source = document.createElement("small");
      source.className = "finding-source";
      source.textContent = " " + (box.dataset.sourceLabel || "") + "：" + finding.source;
      div.append(strong, message, source);
      if (finding.severity === "block") div.appendChild(reasonField(finding, box));
      const herbs = Array.from(new Set(finding.herbs || []));
      if (herbs.length) {
        const tools = document.createElement("div");
        tools.className = "excerpts";
        herbs.forEach((name) => tools.append(...excerptButton(name, box)));
        div.appendChild(tools);
      }
      box.appendChild(div);
    });
    document.getElementById("signature").hidden = !findings.some((f) => f.severity === "block");
  }

  let reasonSeq = 0;

  function reasonField(finding, box) {
    // The double signature's reason for this finding, inside the finding, with its own error.
    const key = findingKey(finding);
    const p = document.createElement("p");
    p.className = "reason";
    const label = document.createElement("label");
    label.htmlFor = "reason-" + (++reasonSeq);
    label.textContent = box.dataset.reasonLabel || "";
    const input = document.createElement("input");
    input.id = label.htmlFor;
    input.className = "signature-reason";
    input.dataset.key = key;
    input.maxLength = 300;
    input.value = blockReasons[key] || "";
    input.addEventListener("input", () => { blockReasons[key] = input.value; });
    const error = document.createElement("span");
    error.className = "error";
    error.setAttribute("role", "alert");
    p.append(label, input, error);
    return p;
  }

  // ---- submit -----------------------------------------------------------------------------------
  // A failed submit lists every error in the summary at the top of the form, each a link to its
  // field; the summary takes the focus. A field in error is aria-invalid and described by its
  // message; typing in it clears its error and its line in the summary.
  const summary = document.getElementById("error-summary");
  const summaryList = summary.querySelector("ul");

  function fieldName(field) {
    let text = "";
    if (field.getAttribute("aria-labelledby")) {
      text = field.getAttribute("aria-labelledby").split(" ")
        .map((id) => (document.getElementById(id) || {}).textContent || "").join(" ");
    } else if (field.labels && field.labels.length) {
      text = field.labels[0].textContent;
    } else {
      text = field.getAttribute("aria-label") || "";
    }
    return text.replace("*", "").replace(/\s+/g, " ").trim();
  }

  function markInvalid(field, error) {
    field.classList.add("invalid");
    field.setAttribute("aria-invalid", "true");
    if (!error.id) error.id = "error-" + field.id;
    const ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!ids.includes(error.id)) field.setAttribute("aria-describedby", [...ids, error.id].join(" "));
  }

  function addSummaryLine(text, field) {
    const li = document.createElement("li");
    if (field) {
      const link = document.createElement("a");
      link.href = "#" + field.id;
      link.dataset.field = field.id;
      link.textContent = fieldName(field) + (fieldName(field) ? "：" : "") + text;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        field.focus();
        field.scrollIntoView({ block: "center" });
      });
      li.appendChild(link);
    } else {
      li.textContent = text;
    }
    summaryList.appendChild(li);
  }

  function clearFieldError(field) {
    if (field.getAttribute("aria-invalid") !== "true") return;
    (field.getAttribute("aria-describedby") || "").split(" ").forEach((id) => {
      const error = document.getElementById(id);
      if (error) error.textContent = "";
    });
    field.classList.remove("invalid");
    field.removeAttribute("aria-invalid");
    field.removeAttribute("aria-describedby");
    summaryList.querySelectorAll(`a[data-field="${field.id}"]`).forEach((link) => link.parentElement.remove());
    if (!summaryList.children.length) summary.hidden = true;
  }

  function clearErrors() {
    form.querySelectorAll(".error").forEach((el) => { el.textContent = ""; });
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    form.querySelectorAll("[aria-invalid]").forEach((el) => {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
    summaryList.innerHTML = "";
    summary.hidden = true;
  }

  function errorPlace(path) {
    // The field an error path belongs to and the element that shows its message.
    const reason = path.match(/^double_signature\.reasons\[(.+)\]$/);
    const reasonInput = reason && Array.from(form.querySelectorAll(".signature-reason"))
      .find((input) => input.dataset.key === reason[1]);
    if (reasonInput) return [reasonInput, reasonInput.parentElement.querySelector(".error")];
    const match = path.match(/^items\[(\d+)\]\.(herb|grams|instruction)$/);
    if (match) {
      const row = rows().filter((r) => r.querySelector(".herb").value.trim() || r.querySelector(".grams").value.trim())[Number(match[1])];
      const input = row && row.querySelector("." + match[2]);
      const error = input && input.parentElement.querySelector(".error");
      if (error) return [input, error];
    }
    const target = form.querySelector(`[data-error-for="${path}"]`)
      || form.querySelector(`[data-error-for="${path.split(".")[0]}"]`);
    if (!target) return [null, null];
    let field = target.dataset.field ? document.getElementById(target.dataset.field)
      : form.querySelector(`[name="${target.dataset.errorFor}"]`);
    if (target.dataset.errorFor === "items") field = rows().length ? rows()[0].querySelector(".herb") : null;
    return [field, target];
  }

  function showErrors(errors) {
    const unplaced = [];
    Object.entries(errors || {}).forEach(([path, messages]) => {
      const text = messages.join(" ");
      const [field, error] = errorPlace(path);
      if (!error) { unplaced.push(text); addSummaryLine(text, null); return; }
      error.textContent = (error.textContent ? error.textContent + " " : "") + text;
      if (field) markInvalid(field, error);
      addSummaryLine(text, field);
    });
    document.getElementById("form-error").textContent = unplaced.join(" ");
    summary.hidden = !summaryList.children.length;
    if (!summary.hidden) summary.focus();
  }

  form.addEventListener("input", (event) => clearFieldError(event.target));
  form.addEventListener("change", (event) => clearFieldError(event.target));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submitting) return;
    submitting = true;
    const button = document.getElementById("submit");
    button.disabled = true;
    clearErrors();
    const body = payload();
    const password = document.getElementById("sign-password").value;
    if (!document.getElementById("signature").hidden) {
      const reasons = {};
      // Only the reasons given: a missing one is then reported at its own finding.
      form.querySelectorAll(".signature-reason").forEach((input) => {
        if (input.value.trim()) reasons[input.dataset.key] = input.value.trim();
      });
      body.double_signature = { password, reasons };
    }
    try {
      const { status, data } = await api(form.dataset.submitUrl, body);
      if (status === 201 || status === 200) {
        window.location.assign(form.dataset.detailUrl.replace("/0/", "/" + data.id + "/"));
        return;
      }
      showErrors(data.errors && Object.keys(data.errors).length ? data.errors : { "": [data.detail || String(status)] });
    } catch (error) {
      document.getElementById("form-error").textContent = String(error);
    }
    submitting = false;
    button.disabled = false;
  });

  // Keyboard: Enter in an ordinary field must not submit the whole prescription by accident.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT" && !event.target.closest(".herb-row")
        && event.target.type !== "submit") {
      event.preventDefault();
    }
  });
  form.querySelectorAll("[data-live]").forEach((field) => field.addEventListener("change", schedulePrecheck));
  form.querySelector("#doses").addEventListener("input", schedulePrecheck);
  document.getElementById("add-row").addEventListener("click", () => addRow(null, true));

  (initial.items || []).forEach((item) => addRow(item, false));
  addRow(null, false);
  if (initial.items && initial.items.length) schedulePrecheck();
  // The focus starts at the first required field, at the top of the form, not below it.
  const firstRequired = form.querySelector("[required], [aria-required=true]");
  if (firstRequired) firstRequired.focus();
})();
