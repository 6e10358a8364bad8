/*
 * Scenario editor enhancements (templates/scenarios/). Everything here has a plain-HTML
 * way too: the criteria list is a list, ↑ ↓ buttons reorder, grid rows have Edit links.
 *
 * - Criteria filter: a search box above each criteria list hides the criteria that do
 *   not match as you type; Enter selects the first match, ArrowDown goes into the list.
 * - Option rows: typing an option in the last row of a prompt's form fetches one more
 *   empty row, as "Add another option" does, so options are written one after another.
 * - Drag to reorder: items with a drag handle ([data-sort-group]) are dropped among their
 *   siblings; the new order is posted (key list) and the server answers the section.
 * - MSEL grid: arrow keys move between cells, Enter opens the row's editor, Escape in
 *   the editor cancels it (the row comes back as saved).
 * - Stage graph: zoom buttons change the SVG's viewBox; once zoomed, drag pans it.
 */
(function () {
  "use strict";

  function addCriteriaFilter(select) {
    if (select.dataset.filtered) return;
    select.dataset.filtered = "yes";
    var box = document.createElement("input");
    box.type = "search";
    box.className = "criteria-filter";
    box.placeholder = "Filter criteria…";
    box.setAttribute("aria-label", "Filter criteria");
    box.setAttribute("aria-controls", select.id);
    select.parentNode.insertBefore(box, select);
    function visible() {
      return Array.prototype.filter.call(select.options, function (o) { return !o.hidden; });
    }
    box.addEventListener("input", function () {
      var words = box.value.toLowerCase().trim().split(/\s+/);
      Array.prototype.forEach.call(select.options, function (option) {
        var text = option.textContent.toLowerCase() + " " + option.parentNode.label.toLowerCase();
        option.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
    box.addEventListener("keydown", function (event) {
      var first = visible()[0];
      if (event.key === "Enter") {
        event.preventDefault(); // choose, do not submit the form
        if (first) first.selected = !first.selected;
      } else if (event.key === "ArrowDown" && first) {
        event.preventDefault();
        select.focus();
      }
    });
  }

  function enhance(root) {
    root.querySelectorAll("select.criteria-list").forEach(addCriteriaFilter);
    root.querySelectorAll(".graph-zoom").forEach(function (tools) { tools.hidden = false; });
  }

  // --- option rows that grow as they are filled ------------------------------------------

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.name || !/-options-\d+-label$/.test(input.name) || !input.value.trim()) return;
    var row = input.closest(".option-row");
    if (!row || row.nextElementSibling || row.dataset.grown) return;
    row.dataset.grown = "yes"; // one request per row, however many letters are typed
    var more = row.closest("fieldset").querySelector("[data-more-options]");
    if (more) more.click(); // the server answers 204 once the form has its most rows
  });

  // --- stage graph zoom and pan ------------------------------------------------------

  function box(svg) {
    return svg.getAttribute("viewBox").split(" ").map(Number);
  }

  function zoom(svg, factor) {
    if (!svg.dataset.base) svg.dataset.base = svg.getAttribute("viewBox");
    var base = svg.dataset.base.split(" ").map(Number);
    var v = box(svg);
    var w = Math.min(base[2], Math.max(base[2] / 8, v[2] / factor));
    var h = w * base[3] / base[2];
    var x = v[0] + (v[2] - w) / 2, y = v[1] + (v[3] - h) / 2;
    if (factor === 0) { x = base[0]; y = base[1]; w = base[2]; h = base[3]; }
    svg.setAttribute("viewBox", [x, y, w, h].join(" "));
    svg.classList.toggle("zoomed", w < base[2]);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-zoom]");
    if (!button) return;
    var svg = button.closest(".graph-panel").querySelector("svg.stage-graph");
    if (!svg) return;
    var step = button.dataset.zoom;
    zoom(svg, step === "in" ? 1.25 : step === "out" ? 0.8 : 0);
  });

  var pan = null;
  document.addEventListener("pointerdown", function (event) {
    var svg = event.target.closest && event.target.closest("svg.stage-graph.zoomed");
    if (!svg || event.target.closest("a")) return; // a stage box is a link: let it work
    pan = { svg: svg, x: event.clientX, y: event.clientY, v: box(svg) };
    svg.setPointerCapture(event.pointerId);
  });
  document.addEventListener("pointermove", function (event) {
    if (!pan) return;
    var scale = pan.v[2] / pan.svg.getBoundingClientRect().width;
    var x = pan.v[0] - (event.clientX - pan.x) * scale;
    var y = pan.v[1] - (event.clientY - pan.y) * scale;
    pan.svg.setAttribute("viewBox", [x, y, pan.v[2], pan.v[3]].join(" "));
  });
  document.addEventListener("pointerup", function () { pan = null; });

  // --- drag to reorder ---------------------------------------------------------------

  var dragged = null;

  function item(node) {
    return node && node.closest ? node.closest("[data-sort-group]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    if (!event.target.classList || !event.target.classList.contains("drag-handle")) return;
    dragged = item(event.target);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.sortKey);
    dragged.classList.add("dragging");
  });

  function target(event) {
    var over = item(event.target);
    return dragged && over && over !== dragged &&
      over.dataset.sortGroup === dragged.dataset.sortGroup ? over : null;
  }

  document.addEventListener("dragover", function (event) {
    if (target(event)) event.preventDefault(); // allow the drop
  });

  document.addEventListener("drop", function (event) {
    var over = target(event);
    if (!over) return;
    event.preventDefault();
    var group = dragged.dataset.sortGroup;
    var keys = Array.prototype.map.call(
      document.querySelectorAll('[data-sort-group="' + group + '"]'),
      function (node) { return node.dataset.sortKey; }
    ).filter(function (key) { return key !== dragged.dataset.sortKey; });
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    keys.splice(keys.indexOf(over.dataset.sortKey) + (after ? 1 : 0), 0, dragged.dataset.sortKey);
    htmx.ajax("POST", dragged.dataset.reorderUrl, {
      target: "#section-stages", swap: "outerHTML", values: { key: keys },
    });
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });

  // --- MSEL grid keyboard navigation -------------------------------------------------

  function gridMove(cell, key) {
    var row = cell.parentNode;
    var column = Array.prototype.indexOf.call(row.cells, cell);
    var next = null;
    if (key === "ArrowLeft") next = cell.previousElementSibling;
    if (key === "ArrowRight") next = cell.nextElementSibling;
    if (key === "ArrowUp" || key === "ArrowDown") {
      var other = key === "ArrowUp" ? row.previousElementSibling : row.nextElementSibling;
      while (other && other.classList.contains("editing")) {
        other = key === "ArrowUp" ? other.previousElementSibling : other.nextElementSibling;
      }
      next = other ? other.cells[Math.min(column, other.cells.length - 1)] : null;
    }
    if (next && next.hasAttribute("tabindex")) {
      cell.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    var cell = event.target;
    var editing = event.key === "Escape" && cell.closest && cell.closest(".msel-grid tr.editing");
    if (editing) { // put the row back as saved, as its Cancel link does
      event.preventDefault();
      editing.querySelector("a.grid-cancel").click();
      return;
    }
    if (!cell.matches || !cell.matches(".msel-grid td[tabindex]")) return;
    if (event.key.indexOf("Arrow") === 0) {
      event.preventDefault();
      gridMove(cell, event.key);
    } else if (event.key === "Enter") {
      var edit = cell.parentNode.querySelector("a.grid-edit");
      if (edit) {
        event.preventDefault();
        edit.click();
      }
    }
  });

  // New content (a swapped section, an opened form, a grid row): enhance it; a grid row
  // that was just saved or opened takes the focus its old row had.
  htmx.onLoad(function (elt) {
    enhance(elt);
    if (elt.id === "new-grid-row") { // after "Add row": straight on with the next one
      var title = elt.querySelector("input[name='new-title']");
      if (title) title.focus();
      return;
    }
    if (!elt.matches || !elt.matches(".msel-grid tr")) return;
    var focus = elt.classList.contains("editing") ? elt.querySelector("input, select") :
      elt.querySelector("td[tabindex]");
    if (focus && (document.activeElement === document.body || !document.activeElement)) {
      focus.focus();
    }
  });
})();
