// The explorer's Play/Pause button (CustomJS code of diffusion2d.plotting.explorer).
// Arguments: play (the button), time (the slider), DT (milliseconds per step). Steps t down
// to 0 from where it is; the timer lives on the button's model, so a second click (or t = 0)
// stops it. BokehJS draws the button anew when its label changes, which loses the focus: a
// focused button gets it back, so that Enter or Space pauses what they started.
const label = text => {
  const view = Bokeh.index.find_one(play), root = view && (view.shadow_el || view.el);
  if (root && root.activeElement) {
    const watch = new MutationObserver(() => {
      const button = root.querySelector("button"), away = document.activeElement;
      if (button && !root.activeElement && (!away || away === document.body)) button.focus();
    });
    watch.observe(root, {childList: true, subtree: true});
    setTimeout(() => watch.disconnect(), 2000);  // the redraw is long done
  }
  play.label = text;
};
const stop = () => { clearInterval(play.explorer_timer); play.explorer_timer = null;
                     label("Play"); };
if (play.explorer_timer) { stop(); return; }
if (time.value <= time.start) time.value = time.end;  // at x_0: start again from x_T
label("Pause");
play.explorer_timer = setInterval(() => {
  time.value = Math.max(time.start, time.value - 1);
  if (time.value <= time.start) stop();
}, DT);
