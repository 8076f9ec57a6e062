/* Workflow editor and diagrams on the vendored Drawflow (static/js/vendor/drawflow).
 *
 * [data-workflow-editor]: the editor. The graph lives in the form's JSON textarea
 * ([data-graph-json], name "graph"), which is the source of truth the server validates; every
 * change on the canvas rewrites it. Node types, their outputs and branches come from
 * /workflows/nodes.json (workflows.nodes.REGISTRY); a selected node's configuration form is
 * rendered by the server from its JSON Schema (/workflows/node-form/?type=&config=).
 * Condition trees ([data-condition-tree] in a node form: the segment editor's builder,
 * segments/includes/condition_tree.html) are written to the configuration as the condition
 * language's tree {match, conditions: [{match, conditions: [{field, operator, value}]}]}; a line
 * that is not attribute:operator:value is kept as text so the server names it on save.
 * Errors of a failed save (#graph-errors) are shown on their nodes on the canvas and, when a node
 * is selected, on the fields of its form (the server renders them: ?errors=).
 * Undo (button [data-undo], Ctrl+Z / Cmd+Z outside text fields): a stack of graph snapshots taken
 * before each canvas change (add, remove, move, connect, disconnect) and each configuration edit
 * (one entry per node edited in a row; the events of one user action make one entry); undo
 * redraws the previous snapshot. Redo (button [data-redo], Ctrl+Shift+Z / Ctrl+Y) takes an undone
 * change again; a new change empties it. Both stacks and the unsaved graph are kept in
 * sessionStorage under the editor's data-history-key (one per workflow; "new" for an unsaved
 * one) with the graph the server rendered, so reloading the page keeps them (only while the
 * server's graph is still the one they started from); submitting the form clears them.
 * [data-workflow-diagram]: a read-only diagram; data-passed lists node ids to highlight (a run's route).
 */
(function () {
  "use strict";

  function byId(nodes) { var map = {}; nodes.forEach(function (n) { map[n.id] = n; }); return map; }

  function outputsOf(reference, node) {
    var type = reference[node.type];
    if (!type) { return []; }
    if (node.type === "ab_test") {
      return ((node.config || {}).variants || []).map(function (v) { return String(v.name); });
    }
    return type.outputs;
  }

  function layout(graph) {
    // Nodes without a position: columns by distance from the trigger.
    var depth = {}, queue = [];
    graph.nodes.forEach(function (n) { if (n.type.indexOf("_trigger") > 0) { depth[n.id] = 0; queue.push(n.id); } });
    while (queue.length) {
      var id = queue.shift();
      graph.edges.forEach(function (e) {
        if (e.from === id && depth[e.to] === undefined) { depth[e.to] = depth[id] + 1; queue.push(e.to); }
      });
    }
    var rows = {};
    graph.nodes.forEach(function (n) {
      var d = depth[n.id] === undefined ? 0 : depth[n.id];
      rows[d] = (rows[d] || 0) + 1;
      if (typeof n.x !== "number") { n.x = 40 + d * 260; }
      if (typeof n.y !== "number") { n.y = 40 + (rows[d] - 1) * 140; }
    });
  }

  function nodeHtml(reference, node) {
    var type = reference[node.type] || { label: node.type, family: "?" };
    var outs = outputsOf(reference, node);
    var div = document.createElement("div");
    div.className = "wf-node-body";
    var title = document.createElement("strong");
    title.textContent = type.label;
    var id = document.createElement("span");
    id.className = "mono small";
    id.textContent = " " + node.id;
    var legend = document.createElement("div");
    legend.className = "wf-outputs small";
    legend.textContent = outs.join(" · ");
    div.appendChild(title); div.appendChild(id); div.appendChild(legend);
    return div.outerHTML;
  }

  function draw(editor, reference, graph) {
    layout(graph);
    var drawflowIds = {};
    graph.nodes.forEach(function (node) {
      var type = reference[node.type] || { family: "?" };
      var inputs = type.family === "trigger" ? 0 : 1;
      drawflowIds[node.id] = editor.addNode(
        node.type, inputs, outputsOf(reference, node).length, node.x, node.y,
        "wf-node wf-" + type.family, { id: node.id, type: node.type, config: node.config || {} },
        nodeHtml(reference, node)
      );
    });
    var nodes = byId(graph.nodes);
    graph.edges.forEach(function (edge) {
      var source = nodes[edge.from];
      if (!source || drawflowIds[edge.to] === undefined) { return; }
      var index = outputsOf(reference, source).indexOf(edge.output);
      if (index < 0) { return; }
      editor.addConnection(drawflowIds[edge.from], drawflowIds[edge.to], "output_" + (index + 1), "input_1");
    });
    return drawflowIds;
  }

  function exportGraph(editor, reference) {
    var data = editor.export().drawflow.Home.data, nodes = [], edges = [];
    Object.keys(data).forEach(function (key) {
      var item = data[key], node = item.data;
      nodes.push({ id: node.id, type: node.type, config: node.config || {}, x: Math.round(item.pos_x), y: Math.round(item.pos_y) });
    });
    Object.keys(data).forEach(function (key) {
      var item = data[key], node = item.data, outs = outputsOf(reference, node);
      Object.keys(item.outputs || {}).forEach(function (outKey) {
        var index = parseInt(outKey.replace("output_", ""), 10) - 1;
        (item.outputs[outKey].connections || []).forEach(function (c) {
          edges.push({ from: node.id, output: outs[index], to: data[c.node].data.id });
        });
      });
    });
    return { nodes: nodes, edges: edges };
  }

  var NO_VALUE = ["is_empty", "is_not_empty", "this_day", "this_month"];  // segments.conditions.NO_VALUE

  function parseCondition(line) {
    // segments.conditions.Condition.parse: field:operator:value, the value may contain colons.
    var parts = line.split(":");
    if (parts.length === 2 && NO_VALUE.indexOf(parts[1]) >= 0) { parts.push(""); }
    if (parts.length < 3 || !parts[0] || !parts[1]) { return line; }
    return { field: parts[0], operator: parts[1], value: parts.slice(2).join(":") };
  }

  function readTree(box) {
    var tree = { match: box.querySelector("[data-tree-match]").value, conditions: [] };
    box.querySelectorAll("[data-condition-group]").forEach(function (group) {
      var leaves = group.querySelector("[data-group-conditions]").value.split("\n").map(function (l) { return l.trim(); })
        .filter(function (l) { return l; }).map(parseCondition);
      if (leaves.length) { tree.conditions.push({ match: group.querySelector("[data-group-match]").value, conditions: leaves }); }
    });
    return tree.conditions.length ? tree : null;
  }

  function addGroup(box) {
    var groups = box.querySelectorAll("[data-condition-group]"), last = groups[groups.length - 1];
    var copy = last.cloneNode(true), index = groups.length;
    copy.querySelectorAll("[name]").forEach(function (field) {
      field.name = field.name.replace(/group-\d+-/, "group-" + index + "-");
      if (field.tagName === "TEXTAREA") { field.value = ""; } else { field.value = "all"; }
    });
    copy.querySelector("[data-group-number]").textContent = String(index + 1);
    last.parentNode.insertBefore(copy, last.nextSibling);
  }

  function readConfig(panel, reference, type) {
    var config = {}, schema = (reference[type] || {}).schema || { properties: {} };
    panel.querySelectorAll("[data-condition-tree]").forEach(function (box) {
      var tree = readTree(box);
      if (tree) { config[box.dataset.conditionTree] = tree; }
    });
    panel.querySelectorAll("[name^='cfg-']").forEach(function (field) {
      if (field.closest("[data-condition-tree]")) { return; }
      var name = field.name.slice(4), prop = schema.properties[name] || {}, value = field.value;
      if (field.type === "checkbox") { config[name] = field.checked; return; }
      if (value === "") { return; }
      if (field.hasAttribute("data-json")) {
        try { config[name] = JSON.parse(value); } catch (e) { config[name] = value; }
        return;
      }
      var kinds = [].concat(prop.type || "string");
      if ((kinds.indexOf("integer") >= 0 || kinds.indexOf("number") >= 0) && /^-?\d+(\.\d+)?$/.test(value.trim())) {
        config[name] = Number(value);
      } else { config[name] = value; }
    });
    return config;
  }

  function startEditor(root) {
    var form = root.closest("form"), textarea = form.querySelector("[data-graph-json]");
    var canvas = root.querySelector("[data-canvas]"), panel = root.querySelector("[data-config-panel]");
    var errors = JSON.parse((document.getElementById("graph-errors") || { textContent: "[]" }).textContent || "[]");
    fetch(root.dataset.nodesUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (reference) {
      var editor = new window.Drawflow(canvas);
      editor.reroute = false;
      editor.start();
      var graph;
      try { graph = JSON.parse(textarea.value || "{}"); } catch (e) { graph = { nodes: [], edges: [] }; }
      graph.nodes = graph.nodes || []; graph.edges = graph.edges || [];
      var ids = draw(editor, reference, graph);
      var errorsOf = function (nodeId) { return errors.filter(function (e) { return e.node === nodeId; }); };
      var markErrors = function () {
        // The last save's errors on their nodes: a red frame and the messages inside the node.
        Object.keys(ids).forEach(function (nodeId) {
          var found = errorsOf(nodeId), el = canvas.querySelector("#node-" + ids[nodeId]);
          if (!el || !found.length) { return; }
          el.classList.add("wf-node-error");
          el.title = found.map(function (e) { return e.message; }).join("\n");
          var list = document.createElement("ul");
          list.className = "wf-node-errors small";
          list.setAttribute("data-testid", "node-errors");
          found.forEach(function (e) {
            var item = document.createElement("li");
            item.textContent = (e.field ? e.field.split(".")[0] + ": " : "") + e.message;
            list.appendChild(item);
          });
          (el.querySelector(".drawflow_content_node") || el).appendChild(list);
        });
      };
      markErrors();
      // Undo / redo: graph snapshots (JSON text). `history` holds the states before `current`,
      // `future` the states undone since; both are kept per workflow in sessionStorage with the
      // graph the server rendered (`base`), so a reload of the same page finds them again.
      var storageKey = root.dataset.historyKey, base = textarea.defaultValue;
      var history = [], future = [], current = textarea.value, lastEdit = null, restoring = false, sameTask = false;
      var undoButton = root.querySelector("[data-undo]"), redoButton = root.querySelector("[data-redo]");
      var readStored = function () {
        try { return JSON.parse(window.sessionStorage.getItem(storageKey) || "null"); } catch (e) { return null; }
      };
      var store = function () {
        if (!storageKey) { return; }
        for (var attempt = 0; attempt < 3; attempt += 1) {
          try {
            window.sessionStorage.setItem(storageKey, JSON.stringify({ base: base, current: current, undo: history, redo: future }));
            return;
          } catch (e) {  // over the storage quota: keep the more recent half of each stack
            history = history.slice(Math.floor(history.length / 2));
            future = future.slice(Math.floor(future.length / 2));
          }
        }
      };
      var stored = storageKey ? readStored() : null;
      if (stored && stored.base === base && typeof stored.current === "string") {
        // The same page reloaded: its unsaved graph and both stacks come back.
        try {
          if (stored.current !== textarea.value) {
            graph = JSON.parse(stored.current); graph.nodes = graph.nodes || []; graph.edges = graph.edges || [];
            editor.clear();
            ids = draw(editor, reference, graph);
            markErrors();
            textarea.value = stored.current;
          }
          history = stored.undo || []; future = stored.redo || []; current = stored.current;
        } catch (e) { /* not a graph any more: start from the page's */ }
      }
      var updateUndo = function () {
        if (undoButton) { undoButton.disabled = history.length === 0; }
        if (redoButton) { redoButton.disabled = future.length === 0; }
      };
      var record = function (previous) {
        history.push(previous);
        if (history.length > 100) { history.shift(); }
        future = [];  // a new change ends what could be redone
      };
      var sync = function (editKey) {
        if (restoring) { return; }
        var fresh = JSON.stringify(exportGraph(editor, reference), null, 1);
        if (fresh === current) { return; }
        // One entry per user action: removing a node first removes its connections, all in one task.
        if (!(editKey && editKey === lastEdit) && !sameTask) {
          record(current);
          sameTask = true;
          setTimeout(function () { sameTask = false; }, 0);
        }
        lastEdit = editKey || null;
        current = fresh;
        textarea.value = fresh;
        store();
        updateUndo();
      };
      var redraw = function (graphText) {
        restoring = true;
        try {
          editor.clear();
          var fresh = JSON.parse(graphText);
          fresh.nodes = fresh.nodes || []; fresh.edges = fresh.edges || [];
          ids = draw(editor, reference, fresh);
        } finally { restoring = false; }
        markErrors();
      };
      var show = function (graphText) {
        current = graphText;
        lastEdit = null;
        textarea.value = current;
        selected = null;
        panel.innerHTML = "";
        redraw(current);
        store();
        updateUndo();
      };
      var undo = function () {
        if (!history.length) { return; }
        future.push(current);
        show(history.pop());
      };
      var redo = function () {
        if (!future.length) { return; }
        history.push(current);
        show(future.pop());
      };
      if (undoButton) { undoButton.addEventListener("click", undo); }
      if (redoButton) { redoButton.addEventListener("click", redo); }
      document.addEventListener("keydown", function (event) {
        var typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
        if (!(event.ctrlKey || event.metaKey) || event.altKey || typing) { return; }
        var key = event.key.toLowerCase();
        if (key === "z" && !event.shiftKey) {
          event.preventDefault();
          undo();
        } else if ((key === "z" && event.shiftKey) || (key === "y" && !event.shiftKey)) {
          event.preventDefault();
          redo();
        }
      });
      // Saving ends the editing session: the next page starts from what the server has.
      form.addEventListener("submit", function () {
        if (storageKey) { try { window.sessionStorage.removeItem(storageKey); } catch (e) { /* private mode */ } }
      });
      updateUndo();
      ["nodeCreated", "nodeRemoved", "nodeMoved", "connectionCreated", "connectionRemoved"].forEach(function (name) {
        editor.on(name, function () { sync(); });
      });
      var selected = null;
      editor.on("nodeSelected", function (drawflowId) {
        selected = drawflowId;
        var node = editor.getNodeFromId(drawflowId).data;
        var url = root.dataset.nodeFormUrl + "?type=" + encodeURIComponent(node.type) + "&config=" + encodeURIComponent(JSON.stringify(node.config || {}));
        var found = errorsOf(node.id);
        if (found.length) { url += "&errors=" + encodeURIComponent(JSON.stringify(found)); }
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
          if (selected !== drawflowId) { return; }
          panel.innerHTML = html;
          var remove = document.createElement("button");
          remove.type = "button"; remove.className = "danger small"; remove.textContent = "Remove node";
          remove.addEventListener("click", function () { editor.removeNodeId("node-" + drawflowId); panel.innerHTML = ""; sync(); });
          panel.appendChild(remove);
          var edited = function () {
            if (selected !== drawflowId) { return; }
            var current = editor.getNodeFromId(drawflowId).data;
            current.config = readConfig(panel, reference, current.type);
            editor.updateNodeDataFromId(drawflowId, current);
            sync("config:" + current.id);
          };
          panel.querySelectorAll("[data-add-group]").forEach(function (button) {
            button.addEventListener("click", function () { addGroup(button.closest("[data-condition-tree]")); });
          });
          panel.oninput = edited;
          panel.onchange = edited;
        });
      });
      root.querySelectorAll("[data-add-node]").forEach(function (button) {
        button.addEventListener("click", function () {
          var type = button.dataset.addNode, isTrigger = reference[type].family === "trigger";
          if (isTrigger) {  // one trigger per workflow: a new one replaces the old
            var data = editor.export().drawflow.Home.data;
            Object.keys(data).forEach(function (key) {
              if ((reference[data[key].data.type] || {}).family === "trigger") { editor.removeNodeId("node-" + key); }
            });
          }
          var existing = exportGraph(editor, reference).nodes.map(function (n) { return n.id; });
          var number = 1, id = isTrigger ? "trigger" : type.replace(/_/g, "-") + "-1";
          while (existing.indexOf(id) >= 0) { number += 1; id = type.replace(/_/g, "-") + "-" + number; }
          draw(editor, reference, { nodes: [{ id: id, type: type, config: {}, x: 40 + (existing.length % 4) * 240, y: 60 + Math.floor(existing.length / 4) * 150 }], edges: [] });
          sync();
        });
      });
      textarea.addEventListener("change", function () {
        try { JSON.parse(textarea.value); } catch (e) { return; /* the server reports it on save */ }
        record(current); current = textarea.value; lastEdit = null;
        redraw(current);
        store();
        updateUndo();
      });
      root.classList.add("ready");
    });
  }

  function startDiagram(el) {
    fetch("/workflows/nodes.json", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (reference) {
      var graph = JSON.parse(el.dataset.graph || "{}"), passed = JSON.parse(el.dataset.passed || "[]");
      if (!graph.nodes) { return; }
      var editor = new window.Drawflow(el);
      editor.editor_mode = "fixed";
      editor.start();
      var ids = draw(editor, reference, graph);
      passed.forEach(function (nodeId) {
        var node = ids[nodeId] !== undefined && el.querySelector("#node-" + ids[nodeId]);
        if (node) { node.classList.add("wf-passed"); }
      });
      el.classList.add("ready");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Drawflow) { return; }
    document.querySelectorAll("[data-workflow-editor]").forEach(startEditor);
    document.querySelectorAll("[data-workflow-diagram]").forEach(startDiagram);
  });
})();
