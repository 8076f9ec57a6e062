/* Workflow editor and diagrams on the vendored Drawflow (static/js/vendor/drawflow).
 *
 * [data-workflow-editor]: the editor. The graph lives in the form's JSON textarea
 * ([data-graph-json], name "graph"), which is the source of truth the server validates; every
 * change on the canvas rewrites it. Node types, their outputs and branches come from
 * /workflows/nodes.json (workflows.nodes.REGISTRY); a selected node's configuration form is
 * rendered by the server from its JSON Schema (/workflows/node-form/?type=&config=).
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

  function readConfig(panel, reference, type) {
    var config = {}, schema = (reference[type] || {}).schema || { properties: {} };
    panel.querySelectorAll("[name^='cfg-']").forEach(function (field) {
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
      errors.forEach(function (error) {
        if (error.node && ids[error.node] !== undefined) {
          var el = canvas.querySelector("#node-" + ids[error.node]);
          if (el) { el.classList.add("wf-node-error"); el.title = error.message; }
        }
      });
      var sync = function () { textarea.value = JSON.stringify(exportGraph(editor, reference), null, 1); };
      ["nodeCreated", "nodeRemoved", "nodeMoved", "connectionCreated", "connectionRemoved"].forEach(function (name) {
        editor.on(name, sync);
      });
      editor.on("connectionCreated", function (c) {
        // One connection per output-target pair; a node accepts many inputs.
        sync();
      });
      var selected = null;
      editor.on("nodeSelected", function (drawflowId) {
        selected = drawflowId;
        var node = editor.getNodeFromId(drawflowId).data;
        var url = root.dataset.nodeFormUrl + "?type=" + encodeURIComponent(node.type) + "&config=" + encodeURIComponent(JSON.stringify(node.config || {}));
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
          panel.innerHTML = html;
          var remove = document.createElement("button");
          remove.type = "button"; remove.className = "danger small"; remove.textContent = "Remove node";
          remove.addEventListener("click", function () { editor.removeNodeId("node-" + drawflowId); panel.innerHTML = ""; sync(); });
          panel.appendChild(remove);
          panel.addEventListener("input", function () {
            if (selected !== drawflowId) { return; }
            var current = editor.getNodeFromId(drawflowId).data;
            current.config = readConfig(panel, reference, current.type);
            editor.updateNodeDataFromId(drawflowId, current);
            sync();
          });
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
        try { var fresh = JSON.parse(textarea.value); editor.clear(); draw(editor, reference, fresh); } catch (e) { /* the server reports it on save */ }
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
