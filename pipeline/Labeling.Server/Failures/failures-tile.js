// The home page's "Images failed" tile opens the Failures page (Hangfire's metric tiles carry no link of their own).
(function () {
    function link() {
        var body = document.querySelector('[data-metric="labeling:failed"]');
        var config = document.getElementById('hangfireConfig');
        if (!body || !config || body.closest('a')) {
            return;
        }
        var tile = body.closest('.metric') || body;
        var base = (config.getAttribute('data-pollurl') || '/hangfire/stats').replace(/\/stats$/, '');
        var a = document.createElement('a');
        a.href = base + '/failures';
        a.setAttribute('data-testid', 'failed-tile-link');
        a.style.color = 'inherit';
        a.style.textDecoration = 'none';
        tile.parentNode.insertBefore(a, tile);
        a.appendChild(tile);
    }
    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', link);
    } else {
        link();
    }
})();
